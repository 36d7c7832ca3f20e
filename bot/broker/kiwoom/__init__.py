"""The only package that knows Kiwoom: api-ids, paths, FIDs and number formats."""
