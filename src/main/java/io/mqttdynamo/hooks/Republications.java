package io.mqttdynamo.hooks;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import jakarta.inject.Singleton;

import io.smallrye.mutiny.Uni;

/**
 * What the service published again itself (on_message_fetch_for_queue): recognises the broker's copies of
 * those publications coming back through ingest, and which stored message each copy stands for, so that
 * they are not stored as new messages and their acknowledgements consume the originals.
 *
 * <p>A copy is recognised by its MQTT 5 marker when the broker passes properties on; otherwise by its
 * topic and payload (SHA-256), once per publication and for {@link #EXPECT_FOR_MILLIS} only: the copy and
 * a publication identical in topic and payload are the same message to store, so taking one for the other
 * stores nothing wrong, and a copy that comes later than that is stored again, never dropped.
 */
@Singleton
public final class Republications {

    static final long EXPECT_FOR_MILLIS = 60_000;
    static final int MAX_EXPECTED = 10_000;
    static final int MAX_MAPPED = 20_000;
    /** How long an acknowledgement of a copy waits for the copy's envelope (see {@link #copyReported}). */
    static final Duration HOLD = Duration.ofSeconds(2);

    static final int MAX_WAITING = 1_000;

    private record Expected(String topic, long digest, int length, String originalMsgId, long untilMillis) {}

    private final Map<String, ArrayDeque<Expected>> byTopic = new HashMap<>();
    private final ArrayDeque<Expected> inOrder = new ArrayDeque<>();
    /** inOrder's size, read without the lock: most messages meet no expectation at all (ingest's hot path). */
    private volatile int expecting;
    /** The broker's ids of copies → the stored originals' msgids, the oldest forgotten first. */
    private final Map<String, String> originals = new LinkedHashMap<>(1024, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > MAX_MAPPED;
        }
    };

    /** Before a stored message is published again: its copy is to be recognised. */
    public synchronized void expect(String topic, byte[] payload, String originalMsgId, long nowMillis) {
        forgetExpired(nowMillis);
        if (inOrder.size() >= MAX_EXPECTED) {
            remove(inOrder.peekFirst());
        }
        Expected expected =
                new Expected(topic, digest(payload), payload.length, originalMsgId, nowMillis + EXPECT_FOR_MILLIS);
        byTopic.computeIfAbsent(topic, t -> new ArrayDeque<>()).addLast(expected);
        inOrder.addLast(expected);
        expecting = inOrder.size();
    }

    /**
     * A message whose sender is unknown (raw mode): the original's msgid when it is a copy still expected
     * (recognised by {@code marker}, the copy's MQTT 5 user property, or else by topic and payload when
     * {@code byContent}), null when it is somebody's message. A copy is recognised once.
     */
    public String takeCopy(String topic, byte[] payload, String marker, boolean byContent, long nowMillis) {
        if (marker == null && (!byContent || expecting == 0)) {
            return null;
        }
        return take(topic, payload, marker, byContent, nowMillis);
    }

    private synchronized String take(String topic, byte[] payload, String marker, boolean byContent, long nowMillis) {
        forgetExpired(nowMillis);
        ArrayDeque<Expected> candidates = byTopic.get(topic);
        if (marker != null) {
            // Marked: a copy in any case (also of a retained message put back, or one no longer expected).
            if (candidates != null) {
                for (Expected expected : candidates) {
                    if (expected.originalMsgId().equals(marker)) {
                        remove(expected);
                        break;
                    }
                }
            }
            return marker;
        }
        if (!byContent || candidates == null) {
            return null;
        }
        long digest = digest(payload);
        for (Expected expected : candidates) {
            if (expected.length() == payload.length && expected.digest() == digest) {
                remove(expected);
                return expected.originalMsgId();
            }
        }
        return null;
    }

    /** Acknowledgements waiting for their copy's envelope, by the copy's broker id. */
    private final Map<String, CompletableFuture<Void>> waiting = new HashMap<>();

    /** The broker reported a copy under its own id (an envelope from the republisher): remembers the pair. */
    public void copyPublished(String brokerMsgId, String topic, byte[] payload, long nowMillis) {
        CompletableFuture<Void> waiter;
        synchronized (this) {
            String original = take(topic, payload, null, true, nowMillis);
            if (original != null) {
                originals.put(brokerMsgId, original);
            }
            waiter = waiting.remove(brokerMsgId);
        }
        if (waiter != null) {
            waiter.complete(null);
        }
    }

    /**
     * For an acknowledgement of a copy that names no original (MQTT 3.1.1 carries no mark): null when it can be
     * mapped now, or when no copy is expected on its topic; else a stage that completes once the copy's envelope
     * reported it or after {@link #HOLD}. The ack and the copy's envelope come on different channels, so the
     * ack may come first.
     */
    public Uni<Void> copyReported(String brokerMsgId, String topic, long nowMillis) {
        CompletableFuture<Void> waiter;
        synchronized (this) {
            forgetExpired(nowMillis);
            if (originals.containsKey(brokerMsgId)
                    || !byTopic.containsKey(topic)
                    || (!waiting.containsKey(brokerMsgId) && waiting.size() >= MAX_WAITING)) {
                return null;
            }
            waiter = waiting.computeIfAbsent(brokerMsgId, id -> new CompletableFuture<>());
        }
        return Uni.createFrom()
                .completionStage(waiter.copy())
                .ifNoItem()
                .after(HOLD)
                .recoverWithItem((Void) null)
                .onTermination()
                .invoke(() -> forget(brokerMsgId, waiter))
                .replaceWithVoid();
    }

    private synchronized void forget(String brokerMsgId, CompletableFuture<Void> waiter) {
        waiting.remove(brokerMsgId, waiter);
    }

    /** The stored message a copy's broker id stands for, or null when unknown. */
    public synchronized String originalOf(String brokerMsgId) {
        return originals.get(brokerMsgId);
    }

    synchronized int expected() {
        return inOrder.size();
    }

    private void forgetExpired(long nowMillis) {
        while (!inOrder.isEmpty() && inOrder.peekFirst().untilMillis() < nowMillis) {
            remove(inOrder.peekFirst());
        }
    }

    private void remove(Expected expected) {
        inOrder.remove(expected);
        expecting = inOrder.size();
        ArrayDeque<Expected> candidates = byTopic.get(expected.topic());
        if (candidates != null) {
            for (Iterator<Expected> it = candidates.iterator(); it.hasNext(); ) {
                if (it.next() == expected) {
                    it.remove();
                    break;
                }
            }
            if (candidates.isEmpty()) {
                byTopic.remove(expected.topic());
            }
        }
    }

    private static long digest(byte[] payload) {
        try {
            return ByteBuffer.wrap(MessageDigest.getInstance("SHA-256").digest(payload))
                    .getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
