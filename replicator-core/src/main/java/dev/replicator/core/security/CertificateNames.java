package dev.replicator.core.security;

import java.util.Locale;

/**
 * How a replicator certificate names who holds it. The subject's CN is the identity (an agent's CN
 * must equal the {@code agent.name} it claims in its hello); the role and the groups are URIs in
 * the subjectAltName extension, so any X.509 tool shows them:
 *
 * <pre>
 *   subject  CN=host1
 *   subjectAltName
 *     URI:urn:replicator:role:agent        exactly one of agent | target | admin
 *     URI:urn:replicator:group:db          agents only: one per group it may ship and fail back
 *     URI:urn:replicator:group:logs
 *   extendedKeyUsage  clientAuth (agent, admin) | serverAuth (target)
 * </pre>
 */
public final class CertificateNames
{
    public static final String ROLE_URI_PREFIX = "urn:replicator:role:";
    public static final String GROUP_URI_PREFIX = "urn:replicator:group:";

    private CertificateNames()
    {
    }

    public static String roleUri(final Role role)
    {
        return ROLE_URI_PREFIX + role.lowerName();
    }

    public static String groupUri(final String group)
    {
        return GROUP_URI_PREFIX + group;
    }

    /** @return the role a URI names, or null if it names none. */
    static Role roleOf(final String uri)
    {
        if (!uri.startsWith(ROLE_URI_PREFIX))
        {
            return null;
        }
        try
        {
            return Role.valueOf(uri.substring(ROLE_URI_PREFIX.length()).toUpperCase(Locale.ROOT));
        }
        catch (final IllegalArgumentException ex)
        {
            return null;
        }
    }

    /** @return the group a URI names, or null if it names none. */
    static String groupOf(final String uri)
    {
        return uri.startsWith(GROUP_URI_PREFIX) ? uri.substring(GROUP_URI_PREFIX.length()) : null;
    }
}
