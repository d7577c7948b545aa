package io.mqttdynamo.store;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import io.mqttdynamo.domain.ItemLimits;

/**
 * The write pipeline's queue, without any I/O: which writes wait for which item, what may be sent now,
 * and what a finished request settles. Not thread-safe; {@link WritePipeline} guards it with one lock.
 *
 * <p>Order: each item has its own line of writes and only the first of them is ever sent; the others wait
 * until it is stored or refused, also while it waits out a retry delay. So DynamoDB applies the writes to
 * one item in the order they were queued. Writes that are not in a request right now may be folded
 * together (also one that was sent, failed and waits to be sent again): a put or delete replaces whatever
 * waits before it, additions to a set join the set addition at the end of the line, removals cancel the
 * additions never sent.
 */
final class WriteQueue {

    /** Set members removed lately: an addition arriving after its removal (acks overtake messages) is skipped. */
    private static final int RECENTLY_REMOVED_LIMIT = 20_000;

    private final int batchSize;
    private final Map<String, Line> lines = new HashMap<>();
    /** Lines whose first write may be sent now, put and delete lines apart (they go in batches). */
    private final ArrayDeque<Line> readyForBatch = new ArrayDeque<>();

    private final ArrayDeque<Line> readyAlone = new ArrayDeque<>();
    /** Lines whose first write waits out a retry delay, earliest first. */
    private final PriorityQueue<Line> delayed = new PriorityQueue<>(Comparator.comparingLong(l -> l.notBefore));

    private final Map<String, Boolean> recentlyRemoved = new LinkedHashMap<>(1024, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > RECENTLY_REMOVED_LIMIT;
        }
    };
    private int writes;

    WriteQueue(int batchSize) {
        this.batchSize = batchSize;
    }

    /** Writes queued or being sent (writes folded into one count once). */
    int size() {
        return writes;
    }

    /**
     * Queues {@code write}. {@code done} completes when it (or a later write to the same item that
     * replaced it) is stored; it is completed here at once when the write turns out to have no effect.
     */
    void add(ItemWrite write, CompletableFuture<Void> done) {
        String item = write.table().identity(write.key());
        Line line = lines.get(item);
        // Set changes that decide what follows from DynamoDB's answer are all sent: their order is settled on
        // the item itself, also against other replicas' writes, which this queue does not see.
        if (write instanceof ItemWrite.AddToSet add && add.then().isEmpty()) {
            add.values().removeIf(value -> recentlyRemoved.remove(removal(item, add.attribute(), value)) != null);
            if (add.values().isEmpty()) {
                done.complete(null);
                return;
            }
        } else if (write instanceof ItemWrite.RemoveFromSet remove
                && remove.then().isEmpty()) {
            for (String value : remove.values()) {
                recentlyRemoved.put(removal(item, remove.attribute(), value), Boolean.TRUE);
            }
            if (line != null && cancelWaitingAdditions(line, remove)) {
                done.complete(null);
                return;
            }
        }
        if (line == null) {
            line = new Line(item);
            lines.put(item, line);
            line.writes.add(new Entry(write, done));
            writes++;
            makeReady(line);
            return;
        }
        Entry last = line.writes.peekLast();
        boolean lastWaits = last != null && !(line.sending && line.writes.size() == 1);
        if (write instanceof ItemWrite.Put || write instanceof ItemWrite.Delete) {
            replaceWaiting(line, write, done);
        } else if (lastWaits
                && foldable(last.write, write)
                // A counter change sent before may be applied already: its retry must stay what it was.
                && !(last.sentBefore && write instanceof ItemWrite.Count)) {
            last.write = fold(last.write, write);
            last.waiters.add(done);
        } else {
            line.writes.add(new Entry(write, done));
            writes++;
        }
    }

    /** The key of a removal in {@link #recentlyRemoved}: item, set attribute and member. */
    private static String removal(String item, String attribute, String value) {
        return item + '\u0000' + attribute + '\u0000' + value;
    }

    /** A put or delete makes every write still waiting for its item pointless: it takes their place. */
    private void replaceWaiting(Line line, ItemWrite write, CompletableFuture<Void> done) {
        Entry entry = new Entry(write, done);
        Iterator<Entry> waiting = line.writes.iterator();
        if (line.sending) {
            waiting.next();
        }
        while (waiting.hasNext()) {
            Entry replaced = waiting.next();
            entry.waiters.addAll(replaced.waiters);
            waiting.remove();
            writes--;
        }
        line.writes.add(entry);
        writes++;
    }

    /**
     * Takes the removed values out of additions that still wait (they were never made, so need no
     * removal). True when nothing is left to remove.
     */
    private boolean cancelWaitingAdditions(Line line, ItemWrite.RemoveFromSet remove) {
        Iterator<Entry> it = line.writes.iterator();
        if (line.sending) {
            it.next();
        }
        while (it.hasNext() && !remove.values().isEmpty()) {
            Entry entry = it.next();
            // A write sent before (and failed) may have been applied: it is sent again, never cancelled.
            if (!entry.sentBefore
                    && entry.write instanceof ItemWrite.AddToSet add
                    && add.attribute().equals(remove.attribute())
                    && add.then().isEmpty()) {
                Set<String> cancelled = new java.util.HashSet<>(add.values());
                cancelled.retainAll(remove.values());
                add.values().removeAll(cancelled);
                remove.values().removeAll(cancelled);
                if (add.values().isEmpty()) {
                    // The addition's messages need nothing more: their id came and went before it was sent.
                    it.remove();
                    writes--;
                    entry.waiters.forEach(w -> w.complete(null));
                }
            }
        }
        if (line.writes.isEmpty()) {
            // Only set changes were waiting, so the line is in no batch queue.
            lines.remove(line.item);
            readyAlone.remove(line);
            delayed.remove(line);
        }
        return remove.values().isEmpty();
    }

    /**
     * Whether {@code newer} can join {@code older}. Additions to a set join up to
     * {@link ItemLimits#MSG_ID_SET_ADDITION_MAX} members: a set is trimmed to its cap after each addition, so an
     * addition without bound (a hot topic while its item waits out a retry) would make an item DynamoDB refuses.
     * Removals made only while each value is a member join up to {@link ItemLimits#CONDITIONED_SET_CHANGE_MAX}.
     */
    private static boolean foldable(ItemWrite older, ItemWrite newer) {
        return older instanceof ItemWrite.AddToSet a
                        && newer instanceof ItemWrite.AddToSet b
                        && a.attribute().equals(b.attribute())
                        && Objects.equals(a.unlessIn(), b.unlessIn())
                        && a.values().size() + b.values().size() <= ItemLimits.MSG_ID_SET_ADDITION_MAX
                || older instanceof ItemWrite.RemoveFromSet c
                        && newer instanceof ItemWrite.RemoveFromSet d
                        && c.attribute().equals(d.attribute())
                        && (c.then().isEmpty() && d.then().isEmpty()
                                || c.values().size() + d.values().size() <= ItemLimits.CONDITIONED_SET_CHANGE_MAX)
                || older instanceof ItemWrite.Count && newer instanceof ItemWrite.Count;
    }

    private static ItemWrite fold(ItemWrite older, ItemWrite newer) {
        if (older instanceof ItemWrite.AddToSet a && newer instanceof ItemWrite.AddToSet b) {
            a.values().addAll(b.values());
            a.then().addAll(b.then());
        } else if (older instanceof ItemWrite.RemoveFromSet a && newer instanceof ItemWrite.RemoveFromSet b) {
            a.values().addAll(b.values());
            a.then().addAll(b.then());
        } else if (older instanceof ItemWrite.Count a && newer instanceof ItemWrite.Count b) {
            return a.plus(b);
        }
        return older;
    }

    /**
     * Takes what may be sent at {@code nowNanos}, at most {@code requests} requests: puts and deletes of
     * different items in batches of up to {@code batch-size}, every other write alone. Lines that wait
     * for each other's turn are taken oldest first. With {@code fullBatchesOnly}, puts and deletes stay
     * while they are fewer than a batch.
     */
    List<Outgoing> take(long nowNanos, int requests, boolean fullBatchesOnly) {
        while (!delayed.isEmpty() && delayed.peek().notBefore - nowNanos <= 0) {
            makeReady(delayed.poll());
        }
        List<Outgoing> out = new ArrayList<>();
        while (out.size() < requests) {
            boolean batchReady = fullBatchesOnly ? readyForBatch.size() >= batchSize : !readyForBatch.isEmpty();
            if (!batchReady && readyAlone.isEmpty()) {
                break;
            }
            boolean alone = !readyAlone.isEmpty()
                    && (!batchReady || readyAlone.peek().readySince <= readyForBatch.peek().readySince);
            if (alone) {
                Line line = readyAlone.poll();
                out.add(new Outgoing(List.of(send(line)), false));
            } else {
                List<Sent> batch = new ArrayList<>(Math.min(batchSize, readyForBatch.size()));
                while (batch.size() < batchSize && !readyForBatch.isEmpty()) {
                    batch.add(send(readyForBatch.poll()));
                }
                out.add(new Outgoing(batch, true));
            }
        }
        return out;
    }

    private static Sent send(Line line) {
        line.sending = true;
        Entry first = line.writes.peekFirst();
        first.sentBefore = true;
        return new Sent(line, first);
    }

    /** True when puts or deletes wait that could be sent, though fewer than a batch. */
    boolean batchWaiting() {
        return !readyForBatch.isEmpty();
    }

    /** When the earliest delayed write may be sent (System.nanoTime), or empty. */
    java.util.OptionalLong nextDue() {
        return delayed.isEmpty() ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(delayed.peek().notBefore);
    }

    /** The write was stored: its waiters are returned to be completed; the item's next write comes forward. */
    List<CompletableFuture<Void>> stored(Sent sent) {
        return settle(sent);
    }

    /**
     * Not stored yet: {@code first}, if any, goes before it as the item's very next write (before anything
     * already waiting), and the write itself follows at once; a capped set is trimmed before an addition.
     */
    void sendFirst(Sent sent, ItemWrite first) {
        Line line = sent.line;
        line.sending = false;
        if (first != null) {
            line.writes.addFirst(new Entry(first, null));
            writes++;
        }
        makeReady(line);
    }

    /** Refused for good: the returned waiters are to be failed; the item's next write comes forward. */
    List<CompletableFuture<Void>> refused(Sent sent) {
        return settle(sent);
    }

    private List<CompletableFuture<Void>> settle(Sent sent) {
        Line line = sent.line;
        line.sending = false;
        line.alone = false;
        line.attempts = 0;
        line.writes.pollFirst();
        writes--;
        if (line.writes.isEmpty()) {
            lines.remove(line.item);
        } else {
            makeReady(line);
        }
        return sent.entry.waiters;
    }

    /** Not stored for a passing reason: the write is sent again after a delay, still first of its item. */
    void retryAfter(Sent sent, long notBeforeNanos) {
        Line line = sent.line;
        line.sending = false;
        line.attempts++;
        line.notBefore = notBeforeNanos;
        delayed.add(line);
    }

    /** Failed in a batch that DynamoDB refused: sent again at once, alone, to find the write it refuses. */
    void sendAlone(Sent sent) {
        Line line = sent.line;
        line.sending = false;
        line.alone = true;
        makeReady(line);
    }

    /** How many times the write was retried so far. */
    static int attempts(Sent sent) {
        return sent.line.attempts;
    }

    private void makeReady(Line line) {
        line.readySince = System.nanoTime();
        ItemWrite first = line.writes.peekFirst().write;
        boolean batchable = !line.alone && (first instanceof ItemWrite.Put || first instanceof ItemWrite.Delete);
        (batchable ? readyForBatch : readyAlone).add(line);
    }

    /** One request to send: a batch of puts and deletes, or one write alone. */
    record Outgoing(List<Sent> writes, boolean batch) {}

    /** One write in a request, and the item line it belongs to. */
    static final class Sent {
        private final Line line;
        private final Entry entry;

        private Sent(Line line, Entry entry) {
            this.line = line;
            this.entry = entry;
        }

        ItemWrite write() {
            return entry.write;
        }

        /** The item the write goes to, across tables. */
        String item() {
            return line.item;
        }

        /** DynamoDB's last answer to this item's first write refused it for a reason outside the item. */
        boolean refusedLast() {
            return line.refusedLast;
        }

        void refusedLast(boolean refused) {
            line.refusedLast = refused;
        }

        /** Sends {@code write} instead, for the same waiters (an addition that has to go another way). */
        void replaceWrite(ItemWrite write) {
            entry.write = write;
        }

        /** Those waiting for this write wait for {@code other} too once it is stored (and fail with either). */
        void alsoWaitFor(CompletableFuture<Void> other) {
            List<CompletableFuture<Void>> chained = new ArrayList<>(entry.waiters.size());
            for (CompletableFuture<Void> waiter : entry.waiters) {
                CompletableFuture<Void> stored = new CompletableFuture<>();
                stored.whenComplete((ok, failure) -> {
                    if (failure != null) {
                        waiter.completeExceptionally(failure);
                    } else {
                        other.whenComplete((done, otherFailure) -> {
                            if (otherFailure != null) {
                                waiter.completeExceptionally(otherFailure);
                            } else {
                                waiter.complete(null);
                            }
                        });
                    }
                });
                chained.add(stored);
            }
            entry.waiters.clear();
            entry.waiters.addAll(chained);
        }
    }

    /** The writes waiting for one item, first one sent or next to be sent. */
    private static final class Line {
        final String item;
        final ArrayDeque<Entry> writes = new ArrayDeque<>(2);
        /** The first write is in a request now. */
        boolean sending;
        /** The first write goes alone, not in a batch. */
        boolean alone;

        int attempts;
        long notBefore;
        long readySince;
        /** The first write's last answer was a refusal outside the item (the pipeline's mark). */
        boolean refusedLast;

        Line(String item) {
            this.item = item;
        }
    }

    /** A write and the futures of everyone waiting for it. */
    private static final class Entry {
        ItemWrite write;
        final List<CompletableFuture<Void>> waiters = new ArrayList<>(1);
        /** Was in a request that failed: DynamoDB may have applied it. */
        boolean sentBefore;

        Entry(ItemWrite write, CompletableFuture<Void> done) {
            this.write = write;
            if (done != null) {
                waiters.add(done);
            }
        }
    }
}
