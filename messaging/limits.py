"""Every limit and constant of the messaging core, named once (libsignal ``consts.rs``).

The relay's own operating limits (request sizes, queue lengths, rates) are the
tunable :class:`messaging.relay.limits.RelayLimits`; everything here is fixed by
a format or a protocol and shared by the client and the relay.
"""

# The version of the message protocol: bound into prekey signatures, every
# message's associated data and every escrow chain context.
PROTOCOL_VERSION = 1

# Double Ratchet (Signal spec section 3.5, MAX_SKIP): message keys one chain may skip.
MAX_SKIP = 1000
# Skipped message keys a session keeps over all its chains; the oldest is evicted first.
MAX_SKIPPED_KEYS_TOTAL = 2000
# A time in seconds since the epoch (messaging.codec): the wire's chain time is a u64.
MAX_EPOCH_SECONDS = 2**64 - 1
# The largest message number N (and chain length PN): both are u32 on the wire.
MAX_MESSAGE_NUMBER = 2**32 - 1

# Wire format bounds (messaging.wire).
MAX_ID_LENGTH = 255  # conversation ids and device addresses, UTF-8 bytes (a u8 length prefix)
MAX_MODE_ID_LENGTH = 32
MAX_RECORD_LENGTH = 16 * 1024
# A safety voucher (messaging.content_hook): opaque bytes the sender's content hook attaches
# to every envelope of one message (a css voucher: PSI header, encrypted share and visual
# derivative, docs/css.md), carried by a version-2 envelope.
MAX_VOUCHER_LENGTH = 16 * 1024
MAX_CIPHERTEXT_LENGTH = 1 << 20
AEAD_TAG_LENGTH = 16
MAX_PLAINTEXT_LENGTH = MAX_CIPHERTEXT_LENGTH - AEAD_TAG_LENGTH

# Device addresses (messaging.addresses): "user:device", a user name of 1..MAX_USER_LENGTH
# characters of [a-z0-9_.-], ":" and a device id in 1..MAX_DEVICE_ID without leading zeros.
MAX_USER_LENGTH = 64
MAX_DEVICE_ID = 2**31 - 1
# The one bound on an address: the longest well-formed one, 64 + 1 + 10 = 75 ASCII bytes.
# Every check that bounds an address before parsing it (the relay's X-Relay-Address
# header, a device link's "by", a safety number's stable id) uses it; a longer string is
# no address. The wire's id fields (MAX_ID_LENGTH) and the relay's address columns (80)
# are wider containers that every address fits in.
MAX_ADDRESS_LENGTH = MAX_USER_LENGTH + 1 + len(str(MAX_DEVICE_ID))

# Prekeys (messaging.prekey_records, messaging.prekey_state): ids are u32 on the wire and
# in signatures.
MAX_PREKEY_ID = 2**32 - 1
MAX_PREKEYS_PER_UPLOAD = 1000
# A new device's prekeys: one-time X25519 and one-time ML-KEM prekeys it publishes, and
# the count of one-time prekeys left on the relay below which it tops them up.
DEFAULT_ONE_TIME_PREKEYS = 20
DEFAULT_KEM_PREKEYS = 10
PREKEY_LOW_WATER = 5

# Message content (messaging.content).
MAX_BODY_CHARS = 64 * 1024
# An image attachment (kind "image"): its encoded bytes (PNG, JPEG, ...), carried in the
# body as base64, 4 characters per 3 bytes. Small enough that one image with its voucher,
# fanned out to four devices, fits one relay request (envelopes travel hex-encoded in at most
# RelayLimits.max_request_bytes, 1 MiB).
MAX_IMAGE_BYTES = 64 * 1024
MAX_IMAGE_BODY_CHARS = 4 * ((MAX_IMAGE_BYTES + 2) // 3)
MAX_CONTENT_BYTES = MAX_PLAINTEXT_LENGTH

# Groups (messaging.groups).
MAX_GROUP_MEMBERS = 256
MAX_GROUP_NAME = 100
MAX_GROUP_REVISION = 2**31 - 1

# Sending (messaging.outbox): resends after device-list changes, envelopes per request.
MAX_SEND_ATTEMPTS = 4
MAX_ENVELOPES_PER_SEND = 64
# Envelope bytes the outbox puts in one request when it batches queued messages (hex-encoded
# on the wire: half the relay's 1 MiB request limit); a single message is never split.
MAX_BYTES_PER_SEND = 256 * 1024

# Receiving (messaging.transport, messaging.client): envelopes asked for per fetch by
# default, and the largest queue id (a 64-bit database integer).
DEFAULT_FETCH_LIMIT = 100
MAX_QUEUE_ID = 2**63 - 1

# Signed relay requests (messaging.relay_protocol): the timestamp header is milliseconds
# since the epoch in at most 15 digits (good for 31,000 years, exact in a float).
MAX_TIMESTAMP_DIGITS = 15
# A queue fetch's query (messaging.relay.api): ?wait=S and ?limit=N in at most this many
# digits, so a huge number is refused before int() reads it.
MAX_WAIT_DIGITS = 3
MAX_LIMIT_DIGITS = 6

# Safety numbers (messaging.safety): the longest identity key fed to the fingerprint.
MAX_FINGERPRINT_KEY_LENGTH = 1024
