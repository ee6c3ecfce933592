"""The ingestion pipeline: ledger (receiving), apply (processing), matching and merges."""
