"""Code mode's way out to the network: the server connects and resolves on a
run's behalf, under the same guard as URL mode, and moves the bytes."""
