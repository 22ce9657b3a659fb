package dev.replicator.core.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigFileTest
{
    @Test
    void shouldReadTypedValuesWithSizeSuffixes()
    {
        final ConfigFile config = ConfigFile.parse("t.conf", List.of(
            "# comment", "group = db", "", "volume.data.size = 256m", "flag = yes"));
        assertThat(config.requireString("group")).isEqualTo("db");
        assertThat(config.longValue("volume.data.size", 0, 1, Long.MAX_VALUE)).isEqualTo(256L << 20);
        assertThat(config.booleanValue("flag", false)).isTrue();
        config.rejectUnknownKeys();
    }

    @Test
    void shouldNameFileLineAndKeyForEveryMistake()
    {
        assertThatThrownBy(() -> ConfigFile.parse("t.conf", List.of("group db")))
            .isInstanceOf(ConfigException.class).hasMessage("t.conf line 1: expected 'key = value', found 'group db'");
        assertThatThrownBy(() -> ConfigFile.parse("t.conf", List.of("a = 1", "a = 2")))
            .hasMessage("t.conf line 2: 'a' is already set on line 1");
        final ConfigFile typo = ConfigFile.parse("t.conf", List.of("group = db", "scan.intervall.ms = 5"));
        typo.requireString("group");
        assertThatThrownBy(typo::rejectUnknownKeys).hasMessage("t.conf line 2: unknown setting 'scan.intervall.ms'");
        final ConfigFile bad = ConfigFile.parse("t.conf", List.of("n = twelve"));
        assertThatThrownBy(() -> bad.longValue("n", 0, 0, 10)).hasMessage("t.conf line 1: 'n': 'twelve' is not a number");
        assertThatThrownBy(() -> ConfigFile.parse("t.conf", List.of()).requireString("group"))
            .hasMessage("t.conf: required setting 'group' is missing");
    }
}
