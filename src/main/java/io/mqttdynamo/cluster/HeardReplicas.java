package io.mqttdynamo.cluster;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The other replicas' latest snapshots as heard on {@code mqtt-dynamo/cluster/+}, bounded: whoever may publish
 * there can send names and snapshots, so at most {@code maxReplicas} are kept (past it the one heard from
 * longest ago goes), a name not heard of for the expiry goes as soon as anything is heard or read, and a
 * snapshot larger than {@value #MAX_SNAPSHOT_BYTES} bytes, unreadable, or naming another replica than its
 * topic is dropped. Thread-safe.
 */
final class HeardReplicas {

    /** Largest snapshot kept: several times a replica's own (about 30 KB with 50 recent messages). */
    static final int MAX_SNAPSHOT_BYTES = 128 * 1024;

    /** What became of one message on the cluster topic. */
    enum Outcome {
        KEPT,
        CLEARED,
        TOO_LARGE,
        UNREADABLE,
        OTHER_NAME
    }

    private record Heard(ReplicaSnapshot snapshot, long atNanos) {}

    private final ObjectMapper json;
    private final int maxReplicas;
    private final long expiryNanos;
    /** Least recently heard first: a name heard again moves to the end. */
    private final Map<String, Heard> heard = new LinkedHashMap<>();

    HeardReplicas(ObjectMapper json, int maxReplicas, long expiryNanos) {
        this.json = json;
        this.maxReplicas = maxReplicas;
        this.expiryNanos = expiryNanos;
    }

    /** Takes {@code payload}, heard from {@code replica} at {@code nowNanos}; an empty one removes it. */
    synchronized Outcome offer(String replica, byte[] payload, long nowNanos) {
        expire(nowNanos);
        if (payload.length == 0) {
            heard.remove(replica);
            return Outcome.CLEARED;
        }
        if (payload.length > MAX_SNAPSHOT_BYTES) {
            return Outcome.TOO_LARGE;
        }
        ReplicaSnapshot snapshot;
        try {
            snapshot = json.readValue(payload, ReplicaSnapshot.class);
        } catch (Exception e) {
            return Outcome.UNREADABLE;
        }
        if (snapshot == null || !replica.equals(snapshot.replica())) {
            return Outcome.OTHER_NAME;
        }
        heard.remove(replica);
        heard.put(replica, new Heard(snapshot, nowNanos));
        Iterator<String> oldest = heard.keySet().iterator();
        while (heard.size() > maxReplicas) {
            oldest.next();
            oldest.remove();
        }
        return Outcome.KEPT;
    }

    /** The snapshots heard within the expiry, least recently heard first, without {@code self}'s. */
    synchronized List<ReplicaSnapshot> live(String self, long nowNanos) {
        expire(nowNanos);
        List<ReplicaSnapshot> live = new ArrayList<>(heard.size());
        heard.forEach((name, h) -> {
            if (!name.equals(self)) {
                live.add(h.snapshot());
            }
        });
        return live;
    }

    /** How many other replicas were heard within the expiry, {@code self} not counted. */
    synchronized int liveCount(String self, long nowNanos) {
        expire(nowNanos);
        return heard.size() - (heard.containsKey(self) ? 1 : 0);
    }

    /** Drops every name not heard of within the expiry. */
    synchronized void expire(long nowNanos) {
        Iterator<Heard> it = heard.values().iterator();
        while (it.hasNext()) {
            if (nowNanos - it.next().atNanos() <= expiryNanos) {
                // In the order heard: the rest are newer.
                return;
            }
            it.remove();
        }
    }

    synchronized int size() {
        return heard.size();
    }
}
