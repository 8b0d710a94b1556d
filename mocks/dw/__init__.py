"""The data warehouse receivers: DW1/DW2 (scored TRT POSTs) and an RDW-style exam import endpoint."""
