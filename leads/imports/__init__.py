"""Reading trade-show lists: detection, streaming readers, header mapping and cell cleaning.

Pure Python, no Django models: the import service (`leads.services.imports`) drives these.
"""
