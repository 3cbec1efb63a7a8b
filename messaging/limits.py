"""Every limit and constant of the messaging core, named once (libsignal ``consts.rs``)."""

# The version of the message protocol: bound into prekey signatures, every
# message's associated data and every escrow chain context.
PROTOCOL_VERSION = 1

# Double Ratchet (Signal spec section 3.5, MAX_SKIP): message keys one chain may skip.
MAX_SKIP = 1000
# Skipped message keys a session keeps over all its chains; the oldest is evicted first.
MAX_SKIPPED_KEYS_TOTAL = 2000

# Wire format bounds (messaging.wire).
MAX_ID_LENGTH = 255  # conversation ids and device addresses, UTF-8 bytes
MAX_MODE_ID_LENGTH = 32
MAX_RECORD_LENGTH = 16 * 1024
MAX_CIPHERTEXT_LENGTH = 1 << 20
AEAD_TAG_LENGTH = 16
