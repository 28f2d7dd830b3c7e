"""Importers for CMS's published files: each reads one kind of file by its header names and turns
its rows into statements that cite the file (name, SHA-256, publication date, row)."""
