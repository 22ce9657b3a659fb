package dev.replicator.core.security;

/** What a certificate lets its holder do; named in the certificate (see {@link CertificateNames}). */
public enum Role
{
    /** Ships the groups its certificate names and receives their failback. */
    AGENT,
    /** Serves agents and admin commands; the only role a client accepts from the server it connects to. */
    TARGET,
    /** Runs admin commands (status, images, checkpoint, failover, failback, verify). */
    ADMIN;

    public String lowerName()
    {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
