package dev.replicator.core.nbd;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The exports a server offers, by name. The empty name (the protocol's default export) means the
 * export added first. Thread-safe: copy on write, so connections look up without locking.
 */
public final class NbdExports
{
    private volatile Map<String, NbdBackend> byName = Map.of();
    private volatile String defaultName;

    /** @throws IllegalArgumentException if the name is taken or longer than 4096 bytes. */
    public synchronized void add(final String name, final NbdBackend backend)
    {
        if (name.isEmpty() || name.length() > 4096)
        {
            throw new IllegalArgumentException("an export name must be 1-4096 characters");
        }
        if (byName.containsKey(name))
        {
            throw new IllegalArgumentException("export '" + name + "' already exists");
        }
        final Map<String, NbdBackend> next = new LinkedHashMap<>(byName);
        next.put(name, backend);
        byName = next;
        if (defaultName == null)
        {
            defaultName = name;
        }
    }

    /** Stops offering an export to new connections; connections already using it keep it. */
    public synchronized NbdBackend remove(final String name)
    {
        final Map<String, NbdBackend> next = new LinkedHashMap<>(byName);
        final NbdBackend removed = next.remove(name);
        byName = next;
        if (name.equals(defaultName))
        {
            defaultName = next.isEmpty() ? null : next.keySet().iterator().next();
        }
        return removed;
    }

    /** The backend for {@code name} ("" = the default export), or null. */
    public NbdBackend find(final String name)
    {
        final String key = name.isEmpty() ? defaultName : name;
        return key == null ? null : byName.get(key);
    }

    /** The real name an export was asked for under ("" resolves to the default). */
    String resolve(final String name)
    {
        return name.isEmpty() && defaultName != null ? defaultName : name;
    }

    public List<String> names()
    {
        return new ArrayList<>(byName.keySet());
    }
}
