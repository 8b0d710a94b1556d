"""The Test Integration System: receiver, database-backed processing service, scoring daemon, test packages."""
