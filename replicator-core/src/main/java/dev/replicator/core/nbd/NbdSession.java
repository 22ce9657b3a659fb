package dev.replicator.core.nbd;

/**
 * What a connection agreed on in negotiation: the export, whether replies are structured, and
 * whether {@code base:allocation} block status was selected.
 */
record NbdSession(String exportName, NbdBackend backend, boolean structuredReplies, boolean baseAllocation)
{
    /** Transmission flags for this export. */
    static int transmissionFlags(final NbdBackend backend)
    {
        // Multi-conn is safe: the backend contract makes flush cover every completed write, whichever
        // connection made it.
        int flags = NbdProtocol.TFLAG_HAS_FLAGS | NbdProtocol.TFLAG_SEND_FLUSH | NbdProtocol.TFLAG_SEND_FUA |
            NbdProtocol.TFLAG_CAN_MULTI_CONN;
        if (backend.readOnly())
        {
            flags |= NbdProtocol.TFLAG_READ_ONLY;
        }
        else
        {
            flags |= NbdProtocol.TFLAG_SEND_TRIM | NbdProtocol.TFLAG_SEND_WRITE_ZEROES;
        }
        return flags;
    }
}
