"""`cockpit lab`: real local sandboxes started from installed system packages on loopback."""
