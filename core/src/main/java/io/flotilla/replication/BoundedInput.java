package io.flotilla.replication;

import com.esotericsoftware.kryo.io.Input;

/**
 * A Kryo {@link Input} over one byte array that checks every declared length against the caps and against the
 * bytes left before Kryo allocates anything for it: strings, byte and primitive arrays.
 *
 * <p>Threading: confined to the thread that borrowed its {@link KryoSlot}.
 */
final class BoundedInput extends Input {
    private final Limits limits;

    BoundedInput(Limits limits) {
        this.limits = limits;
    }

    int remaining() {
        return limit - position;
    }

    @Override
    public byte[] readBytes(int length) {
        limits.array(length, remaining(), 1);
        return super.readBytes(length);
    }

    @Override
    public int[] readInts(int length) {
        limits.array(length, remaining(), 4);
        return super.readInts(length);
    }

    @Override
    public int[] readInts(int length, boolean optimizePositive) {
        limits.array(length, remaining(), 1);
        return super.readInts(length, optimizePositive);
    }

    @Override
    public long[] readLongs(int length) {
        limits.array(length, remaining(), 8);
        return super.readLongs(length);
    }

    @Override
    public long[] readLongs(int length, boolean optimizePositive) {
        limits.array(length, remaining(), 1);
        return super.readLongs(length, optimizePositive);
    }

    @Override
    public float[] readFloats(int length) {
        limits.array(length, remaining(), 4);
        return super.readFloats(length);
    }

    @Override
    public double[] readDoubles(int length) {
        limits.array(length, remaining(), 8);
        return super.readDoubles(length);
    }

    @Override
    public short[] readShorts(int length) {
        limits.array(length, remaining(), 2);
        return super.readShorts(length);
    }

    @Override
    public char[] readChars(int length) {
        limits.array(length, remaining(), 2);
        return super.readChars(length);
    }

    @Override
    public boolean[] readBooleans(int length) {
        limits.array(length, remaining(), 1);
        return super.readBooleans(length);
    }

    @Override
    public String readString() {
        checkString();
        return super.readString();
    }

    @Override
    public StringBuilder readStringBuilder() {
        checkString();
        return super.readStringBuilder();
    }

    /**
     * Peeks at Kryo's string header without consuming it. ASCII strings end at the first byte with the high bit
     * set; UTF-8 strings declare their character count (plus one) in a varint whose first byte keeps 6 bits.
     */
    private void checkString() {
        int p = position;
        if (p >= limit) {
            return; // super reports the underflow
        }
        int b = buffer[p];
        if ((b & 0x80) == 0) {
            int end = p;
            while (end < limit && (buffer[end] & 0x80) == 0) {
                end++;
            }
            long length = (long) end - p + 1;
            if (length > limits.maxStringLength) {
                limits.string(length, remaining());
            }
            return;
        }
        long value = b & 0x3F;
        int shift = 6;
        boolean more = (b & 0x40) != 0;
        p++;
        while (more) {
            if (p >= limit || shift > 27) {
                return; // truncated or over-long: super reports it
            }
            int next = buffer[p++];
            value |= (long) (next & 0x7F) << shift;
            shift += 7;
            more = (next & 0x80) != 0;
        }
        value &= 0xFFFF_FFFFL;
        if (value > 1) {
            limits.string(value - 1, limit - p);
        }
    }
}
