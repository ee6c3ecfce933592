# Inbound messages: the durable ledger of everything a source sends (see the ingestion issues).
