"""The tracer: what runs inside the jail, around the snippet.

Everything in this package imports only the standard library, because it is
copied into a jail that holds nothing but an interpreter and its stdlib. The
server imports just :mod:`playground.tracer.protocol` from here, for the names
of the messages it reads back.
"""
