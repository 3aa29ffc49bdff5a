package io.flotilla.replication;

import io.flotilla.replication.CodecException.Reason;

/**
 * The caps of one codec, checked before anything is allocated for a declared size.
 *
 * <p>Threading: immutable, safe to share.
 */
final class Limits {
    final int maxDepth;
    final int maxCollectionSize;
    final int maxArrayLength;
    final int maxStringLength;
    final int maxValueBytes;

    Limits(CodecConfig c) {
        maxDepth = c.maxDepth();
        maxCollectionSize = c.maxCollectionSize();
        maxArrayLength = c.maxArrayLength();
        maxStringLength = c.maxStringLength();
        maxValueBytes = c.maxValueBytes();
    }

    void collection(long size, long remainingBytes, int minBytesEach) {
        check("collection size", "maxCollectionSize", size, maxCollectionSize, remainingBytes, minBytesEach);
    }

    void array(long length, long remainingBytes, int minBytesEach) {
        check("array length", "maxArrayLength", length, maxArrayLength, remainingBytes, minBytesEach);
    }

    void string(long length, long remainingBytes) {
        check("string length", "maxStringLength", length, maxStringLength, remainingBytes, 1);
    }

    /** A collection about to be written: refuse now what every reader would refuse. */
    void collectionOnWrite(int size) {
        if (size > maxCollectionSize) {
            throw new CodecException(Reason.LIMIT_EXCEEDED, "collection of " + size
                    + " elements exceeds maxCollectionSize=" + maxCollectionSize + ": raise maxCollectionSize");
        }
    }

    void arrayOnWrite(int length) {
        if (length > maxArrayLength) {
            throw new CodecException(Reason.LIMIT_EXCEEDED, "array of " + length
                    + " elements exceeds maxArrayLength=" + maxArrayLength + ": raise maxArrayLength");
        }
    }

    private static void check(String what, String cap, long declared, int max, long remainingBytes, int minBytesEach) {
        if (declared < 0) {
            throw new CodecException(Reason.MALFORMED, "negative " + what + " " + declared);
        }
        if (declared > max) {
            throw new CodecException(Reason.LIMIT_EXCEEDED, "declared " + what + " " + declared + " exceeds "
                    + cap + "=" + max);
        }
        if (declared * minBytesEach > remainingBytes) {
            throw new CodecException(Reason.LIMIT_EXCEEDED, "declared " + what + " " + declared
                    + " needs at least " + declared * minBytesEach + " bytes but only " + remainingBytes
                    + " are left in the input");
        }
    }
}
