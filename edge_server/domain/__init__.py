"""Pure domain rules over dataclasses: no web, no database, no files, no clock of their own."""
