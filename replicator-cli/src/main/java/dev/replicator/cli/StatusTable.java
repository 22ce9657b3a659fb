package dev.replicator.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Renders the target's status JSON ({@code TargetStatus}) as tables for {@code replicator status}:
 * one row per group, one per volume. A new status figure is one {@link Column} line here.
 */
final class StatusTable
{
    /** A column: its header and how a cell is read from the row's JSON. */
    record Column(String header, Function<JsonNode, String> cell)
    {
    }

    static final List<Column> GROUP_COLUMNS = List.of(
        new Column("GROUP", g -> g.path("group").asText()),
        new Column("ROLE", g -> g.path("role").asText()),
        new Column("EPOCH", g -> g.path("epoch").asText()),
        new Column("CONNECTION", g -> g.path("connection").asText() + heard(g.path("lastHeardAgoMs").asLong(-1))),
        new Column("RPO LAG", g -> duration(g.path("rpoLagMs").asLong(-1))),
        new Column("DURABLE SEQ", g -> g.path("durableSeq").asText()),
        new Column("THROUGHPUT", g -> bytes(g.path("throughputBytesPerSec").asDouble()) + "/s"),
        new Column("JOURNAL", g -> journal(g.path("journalUsedBytes").asLong(-1), g.path("journalLimitBytes").asLong(-1))),
        new Column("BACKLOG (ETA)", g -> bytes(g.path("backlogBytes").asLong()) + " (" +
            duration(g.path("backlogEtaSeconds").asLong(-1) * 1000) + ")"),
        new Column("LAST CHECKPOINT", g -> g.has("latestImage") ? g.path("latestImage").asText() + " (" +
            duration(g.path("lastCheckpointAgeMs").asLong(-1)) + " ago)" : "-"),
        new Column("BITMAP", g -> g.path("bitmapMode").asBoolean() ? "YES (" + g.path("dirtyBlocks").asLong() +
            " blocks)" : "no"));

    static final List<Column> VOLUME_COLUMNS = List.of(
        new Column("GROUP", v -> v.path("group").asText()),
        new Column("VOLUME", v -> v.path("name").asText()),
        new Column("SIZE", v -> bytes(v.path("sizeBytes").asLong())),
        new Column("BLOCK", v -> v.path("blockSize").asText()),
        new Column("APPLIED", v -> bytes(v.path("appliedBytes").asLong())),
        new Column("WRITTEN ON RECOVERY", v -> v.has("blocksWrittenSinceFailover") ?
            v.path("blocksWrittenSinceFailover").asLong() + " blocks" : "-"));

    private StatusTable()
    {
    }

    static String render(final JsonNode status)
    {
        final StringBuilder out = new StringBuilder();
        final List<JsonNode> groups = new ArrayList<>();
        final List<JsonNode> volumes = new ArrayList<>();
        for (final JsonNode group : status.path("groups"))
        {
            groups.add(group);
            for (final JsonNode volume : group.path("volumes"))
            {
                final com.fasterxml.jackson.databind.node.ObjectNode row =
                    ((com.fasterxml.jackson.databind.node.ObjectNode)volume).deepCopy();
                row.put("group", group.path("group").asText());
                volumes.add(row);
            }
        }
        if (groups.isEmpty())
        {
            out.append("no groups yet: agents create their group when they first connect\n");
        }
        else
        {
            table(out, GROUP_COLUMNS, groups);
            out.append('\n');
            table(out, VOLUME_COLUMNS, volumes);
        }
        for (final JsonNode group : groups)
        {
            final String name = group.path("group").asText();
            if (!group.path("paused").isNull() && !group.path("paused").isMissingNode())
            {
                out.append("group ").append(name).append(": REPLICATION PAUSED: ").append(group.get("paused").asText())
                    .append('\n');
            }
            if (group.has("failover"))
            {
                final JsonNode fo = group.get("failover");
                out.append(String.format("group %s: failed over to %s at %s; recovery volumes %s; %d blocks written " +
                    "since%n", name, fo.path("image").asText(), fo.path("at").asText(),
                    fo.has("export") ? "served at " + fo.get("export").asText() : fo.path("recoveryPaths"),
                    fo.path("blocksWrittenSinceFailover").asLong()));
                if (fo.hasNonNull("reason"))
                {
                    out.append("group ").append(name).append(": why: ").append(fo.get("reason").asText()).append('\n');
                }
            }
            final JsonNode auto = group.path("autoFailover");
            if (!"off".equals(auto.path("policy").asText("off")))
            {
                out.append("group ").append(name).append(": auto failover ").append(auto.get("policy").asText())
                    .append('\n');
            }
            if (auto.has("lastTransition"))
            {
                final JsonNode t = auto.get("lastTransition");
                out.append(String.format("group %s: last automatic transition: %s at %s, epoch %d, seq %d: %s%s%n",
                    name, t.path("kind").asText(), t.path("at").asText(), t.path("epoch").asLong(),
                    t.path("seq").asLong(), t.path("reason").asText(),
                    t.has("hook") ? "; hook " + t.get("hook").asText() : ""));
            }
        }
        out.append("corrupt frames rejected: ").append(status.path("corruptFramesRejected").asLong()).append('\n');
        return out.toString();
    }

    static void table(final StringBuilder out, final List<Column> columns, final List<JsonNode> rows)
    {
        final String[][] cells = new String[rows.size()][columns.size()];
        final int[] widths = new int[columns.size()];
        for (int c = 0; c < columns.size(); c++)
        {
            widths[c] = columns.get(c).header().length();
            for (int r = 0; r < rows.size(); r++)
            {
                cells[r][c] = columns.get(c).cell().apply(rows.get(r));
                widths[c] = Math.max(widths[c], cells[r][c].length());
            }
        }
        for (int c = 0; c < columns.size(); c++)
        {
            pad(out, columns.get(c).header(), widths[c], c == columns.size() - 1);
        }
        for (final String[] row : cells)
        {
            for (int c = 0; c < columns.size(); c++)
            {
                pad(out, row[c], widths[c], c == columns.size() - 1);
            }
        }
    }

    private static void pad(final StringBuilder out, final String text, final int width, final boolean last)
    {
        out.append(text);
        if (last)
        {
            out.append('\n');
            return;
        }
        out.append(" ".repeat(width - text.length() + 2));
    }

    private static String heard(final long agoMs)
    {
        return agoMs < 0 ? "" : " (" + duration(agoMs) + " ago)";
    }

    private static String journal(final long used, final long limit)
    {
        if (used < 0 || limit <= 0)
        {
            return "-";
        }
        return String.format(Locale.ROOT, "%.0f%% of %s", 100.0 * used / limit, bytes(limit));
    }

    /** 950 ms, 12.3 s, 4 min 10 s, 2 h 5 min; "-" for unknown (negative). */
    static String duration(final long ms)
    {
        if (ms < 0)
        {
            return "-";
        }
        if (ms < 1000)
        {
            return ms + " ms";
        }
        if (ms < 60_000)
        {
            return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
        }
        final long s = ms / 1000;
        if (s < 3600)
        {
            return s / 60 + " min " + s % 60 + " s";
        }
        return s / 3600 + " h " + s % 3600 / 60 + " min";
    }

    static String bytes(final double bytes)
    {
        final String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? String.format(Locale.ROOT, "%.0f B", value) :
            String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }
}
