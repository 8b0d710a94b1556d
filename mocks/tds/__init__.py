"""The TDS side of TIS's acknowledgement: test opportunities and the status callback."""
