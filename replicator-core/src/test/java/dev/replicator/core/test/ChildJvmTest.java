package dev.replicator.core.test;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChildJvmTest
{
    @TempDir
    Path directory;

    /** Prints its arguments and a line on stderr, then exits with code 3. */
    public static final class PrintAndExit
    {
        public static void main(final String[] args)
        {
            System.out.println("args=" + String.join(",", args));
            System.err.println("something on stderr");
            System.exit(3);
        }
    }

    /** Prints "ready", then parks until killed. */
    public static final class PrintAndPark
    {
        public static void main(final String[] args)
        {
            System.out.println("ready");
            System.out.flush();
            while (true)
            {
                LockSupport.park();
            }
        }
    }

    @Test
    void shouldPassArgumentsAndReportExitCode()
    {
        try (ChildJvm child = ChildJvm.start(PrintAndExit.class, directory, "a", "b c"))
        {
            child.awaitOutput("args=a,b c", Duration.ofSeconds(30));
            assertThat(child.awaitExit(Duration.ofSeconds(30))).isEqualTo(3);
            assertThat(child.stderr()).contains("something on stderr");
        }
    }

    @Test
    void shouldFailWithChildOutputWhenChildExitsWithoutText()
    {
        try (ChildJvm child = ChildJvm.start(PrintAndExit.class, directory))
        {
            assertThatThrownBy(() -> child.awaitOutput("never printed", Duration.ofSeconds(30)))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("exited with code 3")
                .hasMessageContaining("something on stderr");
        }
    }

    @Test
    void shouldKillHardAParkedChild()
    {
        try (ChildJvm child = ChildJvm.start(PrintAndPark.class, directory))
        {
            child.awaitOutput("ready", Duration.ofSeconds(30));
            assertThat(child.isAlive()).isTrue();
            child.killHard();
            assertThat(child.isAlive()).isFalse();
            // 128 + SIGKILL(9)
            assertThat(child.awaitExit(Duration.ofSeconds(5))).isEqualTo(137);
        }
    }

    @Test
    void shouldFailAwaitUntilWithTheGivenMessage()
    {
        assertThatThrownBy(() -> Await.until(() -> false, Duration.ofMillis(20), "condition never held"))
            .isInstanceOf(AssertionError.class)
            .hasMessageStartingWith("condition never held");
    }
}
