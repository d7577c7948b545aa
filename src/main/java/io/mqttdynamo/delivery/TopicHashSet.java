package io.mqttdynamo.delivery;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The topics seen on the broker during a retained-message comparison, kept as 64-bit hashes in a primitive
 * open-addressing table: 8 bytes a slot, at most 3/4 full, so a million topics take 16 MiB (2^21 slots)
 * whatever their length.
 *
 * <p>Two topics with the same hash are taken for one: with n topics the chance that any two collide is about
 * n²/2^65 (3·10^-8 for a million). The hash is the start of the topic's SHA-256, so nobody can pick topics
 * that collide. What a collision costs: a row the broker lacks whose topic collides with one the broker has
 * is taken as present and not republished in that run.
 *
 * <p>Not thread-safe: one writer, read after the writes (the comparison's phases follow each other).
 */
public final class TopicHashSet {

    /** The hash that marks an empty slot; a topic hashing to it is stored as {@link #ZERO_STAND_IN}. */
    private static final long EMPTY = 0L;

    private static final long ZERO_STAND_IN = 1L;
    private static final int MIN_CAPACITY = 1024;

    private final MessageDigest sha256;
    private final int maxSize;
    private long[] slots;
    private int size;

    /** A set that refuses more than {@code maxSize} topics (see {@link #add}). */
    public TopicHashSet(int maxSize) {
        if (maxSize < 1 || maxSize > (1 << 28)) {
            throw new IllegalArgumentException("maxSize must be from 1 to 2^28: " + maxSize);
        }
        this.maxSize = maxSize;
        this.slots = new long[MIN_CAPACITY];
        try {
            this.sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }

    /** Adds the topic; false when it (or a topic of the same hash) was there. Fails past {@code maxSize}. */
    public boolean add(String topic) {
        return addHash(hash(topic));
    }

    public boolean contains(String topic) {
        long hash = hash(topic);
        int mask = slots.length - 1;
        for (int i = slot(hash, mask); ; i = (i + 1) & mask) {
            long there = slots[i];
            if (there == EMPTY) {
                return false;
            }
            if (there == hash) {
                return true;
            }
        }
    }

    /** Topics held (hashes, strictly). */
    public int size() {
        return size;
    }

    /** Bytes of the table. */
    public long bytes() {
        return (long) slots.length * Long.BYTES;
    }

    /** The first 8 bytes of the topic's SHA-256 (UTF-8), never {@link #EMPTY}. */
    long hash(String topic) {
        byte[] digest = sha256.digest(topic.getBytes(StandardCharsets.UTF_8));
        long hash = 0;
        for (int i = 0; i < Long.BYTES; i++) {
            hash = hash << 8 | (digest[i] & 0xff);
        }
        return hash == EMPTY ? ZERO_STAND_IN : hash;
    }

    boolean addHash(long hash) {
        int mask = slots.length - 1;
        int i = slot(hash, mask);
        for (; slots[i] != EMPTY; i = (i + 1) & mask) {
            if (slots[i] == hash) {
                return false;
            }
        }
        if (size >= maxSize) {
            throw new IllegalStateException("more than " + maxSize + " topics");
        }
        slots[i] = hash;
        size++;
        if (size * 4L > slots.length * 3L) {
            grow();
        }
        return true;
    }

    private void grow() {
        long[] old = slots;
        slots = new long[old.length * 2];
        int mask = slots.length - 1;
        for (long hash : old) {
            if (hash != EMPTY) {
                int i = slot(hash, mask);
                while (slots[i] != EMPTY) {
                    i = (i + 1) & mask;
                }
                slots[i] = hash;
            }
        }
    }

    /** The hash's home slot: its two halves folded (SHA-256's bits are all equally good). */
    private static int slot(long hash, int mask) {
        return (int) (hash >>> 32 ^ hash) & mask;
    }
}
