"""Meta Conversions API: normalisation and hashing, the event builder, the sender's logic, replay."""
