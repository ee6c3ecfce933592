# Access events: append-only and hash-chained (see the access-and-audit issue).
