"""The pages of the main window: library, search (query + results), evaluation, models."""
