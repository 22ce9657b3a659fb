package dev.replicator.target.image;

import java.io.IOException;
import java.util.EnumSet;
import java.util.Random;
import java.util.Set;

/** A write stage hook that "crashes" the writer: at chosen stages, or at random ones. */
final class CrashingHook implements WriteStageHook
{
    /** Thrown to stop the writer at a stage, as a crash would. */
    static final class SimulatedCrash extends IOException
    {
        private static final long serialVersionUID = 1L;

        SimulatedCrash(final WriteStage stage)
        {
            super("simulated crash at " + stage);
        }
    }

    private final Random random;
    private final double probability;
    private final Set<WriteStage> armed = EnumSet.noneOf(WriteStage.class);
    private int crashes;

    private CrashingHook(final Random random, final double probability)
    {
        this.random = random;
        this.probability = probability;
    }

    static CrashingHook random(final Random random, final double probability)
    {
        return new CrashingHook(random, probability);
    }

    /** Crashes once, the next time the writer reaches {@code stage}. */
    static CrashingHook once(final WriteStage stage)
    {
        final CrashingHook hook = new CrashingHook(null, 0);
        hook.armed.add(stage);
        return hook;
    }

    int crashes()
    {
        return crashes;
    }

    @Override
    public void reached(final WriteStage stage) throws IOException
    {
        if (armed.remove(stage) || (random != null && random.nextDouble() < probability))
        {
            crashes++;
            throw new SimulatedCrash(stage);
        }
    }
}
