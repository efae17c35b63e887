"""The SOAP edge: the clearance service customs calls (contract section 1).

It only translates: an envelope in, a declaration or a lookup handed to the services, a
response or a Fault out. Nothing here decides a declaration.
"""
