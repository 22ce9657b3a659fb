package dev.replicator.core.security;

/**
 * Who may do what at a target. An agent may ship, and receive failback for, exactly the groups its
 * certificate names, under the name it was issued; admin commands need an admin certificate. A
 * plaintext peer ({@code --insecure}) is not checked: there is no identity to check.
 */
public final class AccessPolicy
{
    private AccessPolicy()
    {
    }

    /** @return null if the peer may open an agent session for {@code group}, else why not (one sentence). */
    public static String refuseHello(final PeerIdentity peer, final String group, final String agentName)
    {
        if (!peer.authenticated())
        {
            return null;
        }
        if (peer.role() != Role.AGENT)
        {
            return peer + " is not an agent certificate; only agents may open a replication session";
        }
        if (!peer.name().equals(agentName))
        {
            return peer + " claims agent.name '" + agentName + "' but the certificate was issued to '" +
                peer.name() + "'";
        }
        if (!peer.groups().contains(group))
        {
            return peer + " may not replicate group '" + group + "' (its certificate names " +
                peer.groups().stream().sorted().toList() + ")";
        }
        return null;
    }

    /** @return null if the peer may run admin command {@code command}, else why not (one sentence). */
    public static String refuseAdmin(final PeerIdentity peer, final String command)
    {
        if (!peer.authenticated() || peer.role() == Role.ADMIN)
        {
            return null;
        }
        return peer + " may not run admin command '" + command + "': admin commands need an admin certificate " +
            "('replicator certs issue --admin NAME')";
    }
}
