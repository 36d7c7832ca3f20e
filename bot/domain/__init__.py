"""Value types, commands and events shared by every layer; no I/O here."""
