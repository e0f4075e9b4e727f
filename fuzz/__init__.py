"""Coverage-guided fuzzing of pocketrelay's parsers (C{make fuzz})."""
