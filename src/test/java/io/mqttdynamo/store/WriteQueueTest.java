package io.mqttdynamo.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.domain.ItemLimits;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

class WriteQueueTest {

    private static final long NOW = 1_000_000_000L;
    private final WriteQueue queue = new WriteQueue(25);

    private static ItemWrite add(String topic, String... ids) {
        return new ItemWrite.AddToSet(
                Tables.TOPIC_MSG_MAP, Map.of("topic", AttributeValue.fromS(topic)), "MsgId", Set.of(ids));
    }

    private static ItemWrite remove(String topic, String... ids) {
        return new ItemWrite.RemoveFromSet(
                Tables.TOPIC_MSG_MAP, Map.of("topic", AttributeValue.fromS(topic)), "MsgId", Set.of(ids));
    }

    private static ItemWrite put(String topic, String payload) {
        return new ItemWrite.Put(
                Tables.RETAIN, Map.of("topic", AttributeValue.fromS(topic), "payload", AttributeValue.fromS(payload)));
    }

    private CompletableFuture<Void> queue(ItemWrite write) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        queue.add(write, done);
        return done;
    }

    private List<WriteQueue.Sent> takeAll(long now) {
        List<WriteQueue.Sent> sent = new ArrayList<>();
        queue.take(now, 100, false).forEach(request -> sent.addAll(request.writes()));
        return sent;
    }

    private static WriteQueue.Sent only(List<WriteQueue.Sent> sent) {
        assertThat(sent).hasSize(1);
        return sent.get(0);
    }

    @Test
    void aWriteWaitingOutItsRetryDelayHoldsBackLaterWritesToItsItem() {
        queue(add("t", "m1"));
        WriteQueue.Sent first = only(takeAll(NOW));
        queue.retryAfter(first, NOW + 1_000);
        CompletableFuture<Void> removal = queue(remove("t", "m1"));

        assertThat(takeAll(NOW + 999)).isEmpty();
        WriteQueue.Sent retried = only(takeAll(NOW + 1_000));
        // The failed addition may have been applied, so it is sent again, and the removal only after it.
        assertThat(retried.write()).isEqualTo(add("t", "m1"));
        assertThat(takeAll(NOW + 2_000)).isEmpty();
        queue.stored(retried);
        WriteQueue.Sent next = only(takeAll(NOW + 2_000));
        assertThat(next.write()).isEqualTo(remove("t", "m1"));
        assertThat(removal).isNotDone();
        queue.stored(next).forEach(w -> w.complete(null));
        assertThat(removal).isDone();
        assertThat(queue.size()).isZero();
    }

    @Test
    void writesToOneItemAreNeverSentTwiceAtOnce() {
        queue(add("t", "m1"));
        WriteQueue.Sent first = only(takeAll(NOW));
        queue(add("t", "m2"));
        queue(add("t", "m3"));
        assertThat(takeAll(NOW)).isEmpty();

        queue.stored(first);
        WriteQueue.Sent folded = only(takeAll(NOW));
        assertThat(((ItemWrite.AddToSet) folded.write()).values()).containsExactlyInAnyOrder("m2", "m3");
    }

    @Test
    void additionsToOneSetFoldOnlyUpToTheLargestAddition() {
        queue(add("hot", "m0"));
        WriteQueue.Sent first = only(takeAll(NOW));
        // A hot topic while its item is busy: thousands of ids wait for it.
        int waiting = 2 * ItemLimits.MSG_ID_SET_ADDITION_MAX + 500;
        for (int i = 1; i <= waiting; i++) {
            queue(add("hot", "m" + i));
        }
        queue.stored(first);

        Set<String> sent = new java.util.HashSet<>();
        int requests = 0;
        for (List<WriteQueue.Sent> next = takeAll(NOW); !next.isEmpty(); next = takeAll(NOW)) {
            WriteQueue.Sent addition = only(next);
            Set<String> values = ((ItemWrite.AddToSet) addition.write()).values();
            assertThat(values)
                    .as("one addition's members")
                    .hasSizeLessThanOrEqualTo(ItemLimits.MSG_ID_SET_ADDITION_MAX);
            sent.addAll(values);
            requests++;
            queue.stored(addition);
        }
        assertThat(sent).hasSize(waiting);
        assertThat(requests).isEqualTo(3);
        assertThat(queue.size()).isZero();
    }

    @Test
    void aRemovalCancelsAnAdditionThatWasNeverSent() {
        queue(add("busy", "m0"));
        only(takeAll(NOW));
        CompletableFuture<Void> addition = queue(add("t", "m1"));
        CompletableFuture<Void> removal = queue(remove("t", "m1"));

        assertThat(addition).isCompleted();
        assertThat(removal).isCompleted();
        assertThat(queue.size()).isEqualTo(1);
        assertThat(takeAll(NOW)).isEmpty();
    }

    @Test
    void anAdditionArrivingAfterItsRemovalIsSkipped() {
        queue(remove("t", "m1"));
        WriteQueue.Sent removal = only(takeAll(NOW));
        queue.stored(removal);

        CompletableFuture<Void> late = queue(add("t", "m1"));
        assertThat(late).isCompleted();
        assertThat(takeAll(NOW)).isEmpty();
    }

    @Test
    void aPutReplacesTheWritesWaitingForItsItemAndCompletesTheirFutures() {
        queue(put("t", "v1"));
        WriteQueue.Sent first = only(takeAll(NOW));
        CompletableFuture<Void> second = queue(put("t", "v2"));
        CompletableFuture<Void> third = queue(put("t", "v3"));
        assertThat(queue.size()).isEqualTo(2);

        queue.stored(first);
        WriteQueue.Sent last = only(takeAll(NOW));
        assertThat(last.write()).isEqualTo(put("t", "v3"));
        queue.stored(last).forEach(w -> w.complete(null));
        assertThat(second).isCompleted();
        assertThat(third).isCompleted();
    }

    @Test
    void putsOfDifferentItemsGoInBatchesOfBatchSize() {
        for (int i = 0; i < 30; i++) {
            queue(put("t" + i, "v"));
        }
        List<WriteQueue.Outgoing> requests = queue.take(NOW, 16, false);
        assertThat(requests).extracting(r -> r.writes().size()).containsExactly(25, 5);
        assertThat(requests).allMatch(WriteQueue.Outgoing::batch);
    }

    @Test
    void noMoreRequestsThanSlots() {
        for (int i = 0; i < 5; i++) {
            queue(add("t" + i, "m"));
        }
        assertThat(queue.take(NOW, 3, false)).hasSize(3);
        assertThat(queue.take(NOW, 3, false)).hasSize(2);
    }

    @Test
    void writesOfARefusedBatchAreSentAloneNext() {
        queue(put("a", "v"));
        queue(put("b", "v"));
        WriteQueue.Outgoing batch = queue.take(NOW, 1, false).get(0);
        assertThat(batch.writes()).hasSize(2);
        batch.writes().forEach(queue::sendAlone);

        List<WriteQueue.Outgoing> alone = queue.take(NOW, 10, false);
        assertThat(alone).hasSize(2).noneMatch(WriteQueue.Outgoing::batch);
    }

    @Test
    void aTrimGoesFirstThenTheAdditionThatFoundTheSetFullThenWhatWaitedBehindIt() {
        queue(add("t", "m1"));
        WriteQueue.Sent first = only(takeAll(NOW));
        queue(remove("t", "m9"));

        queue.sendFirst(first, remove("t", "m0"));
        WriteQueue.Sent trim = only(takeAll(NOW));
        assertThat(trim.write()).isEqualTo(remove("t", "m0"));
        queue.stored(trim);
        WriteQueue.Sent again = only(takeAll(NOW));
        assertThat(again.write()).isEqualTo(add("t", "m1"));
        queue.stored(again);
        assertThat(only(takeAll(NOW)).write()).isEqualTo(remove("t", "m9"));
    }

    @Test
    void theEarliestRetryIsDueFirst() {
        queue(add("a", "m"));
        queue(add("b", "m"));
        List<WriteQueue.Sent> sent = takeAll(NOW);
        queue.retryAfter(sent.get(0), NOW + 500);
        queue.retryAfter(sent.get(1), NOW + 100);
        assertThat(queue.nextDue()).hasValue(NOW + 100);
        assertThat(only(takeAll(NOW + 100)).item()).isEqualTo(sent.get(1).item());
        assertThat(queue.nextDue()).hasValue(NOW + 500);
    }

    @Test
    void fullBatchesOnlyLeavesAPartialBatchButNotTheWritesThatGoAlone() {
        for (int i = 0; i < 30; i++) {
            queue(put("t" + i, "v"));
        }
        queue(add("set", "m"));
        List<WriteQueue.Outgoing> first = queue.take(NOW, 16, true);
        assertThat(first).extracting(r -> r.writes().size()).containsExactlyInAnyOrder(25, 1);
        assertThat(queue.batchWaiting()).isTrue();
        assertThat(queue.take(NOW, 16, true)).isEmpty();
        assertThat(queue.take(NOW, 16, false))
                .extracting(r -> r.writes().size())
                .containsExactly(5);
    }

    /**
     * Set changes that decide what follows from DynamoDB's answer are all sent, in order: a removal neither
     * cancels such an addition waiting before it, nor takes such an addition coming after it out.
     */
    @Test
    void setChangesThatReadTheAnswerAreNeverCancelledHere() {
        ItemWrite.Then then = (sent, answer) -> List.of();
        Map<String, AttributeValue> key = Map.of("topic", AttributeValue.fromS("t"));
        queue(new ItemWrite.AddToSet(
                Tables.TOPIC_MSG_MAP, key, "MsgId", Set.of("m1"), 0, String::compareTo, List.of(then)));
        queue(new ItemWrite.RemoveFromSet(Tables.TOPIC_MSG_MAP, key, "MsgId", Set.of("m1"), List.of(then)));
        queue(new ItemWrite.AddToSet(
                Tables.TOPIC_MSG_MAP, key, "MsgId", Set.of("m1"), 0, String::compareTo, List.of(then)));
        assertThat(queue.size()).isEqualTo(3);
        List<String> order = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            WriteQueue.Sent sent = only(takeAll(NOW));
            order.add(sent.write().getClass().getSimpleName());
            queue.stored(sent);
        }
        assertThat(order).containsExactly("AddToSet", "RemoveFromSet", "AddToSet");
    }

    @Test
    void removalsWhoseConditionNamesEachValueFoldOnlyUpToWhatAnExpressionHolds() {
        Map<String, AttributeValue> key = Map.of("topic", AttributeValue.fromS("hot"));
        ItemWrite.Then nothing = (sent, item) -> List.of();
        queue(add("hot", "m0"));
        WriteQueue.Sent first = only(takeAll(NOW));
        int waiting = 3 * ItemLimits.CONDITIONED_SET_CHANGE_MAX;
        // Acks' removals, each made only while its msgid is pending.
        for (int i = 1; i <= waiting; i++) {
            queue(new ItemWrite.RemoveFromSet(Tables.TOPIC_MSG_MAP, key, "MsgId", Set.of("r" + i), List.of(nothing)));
        }
        queue.stored(first);

        int values = 0;
        int requests = 0;
        for (List<WriteQueue.Sent> next = takeAll(NOW); !next.isEmpty(); next = takeAll(NOW)) {
            WriteQueue.Sent removal = only(next);
            requests++;
            Set<String> carried = ((ItemWrite.RemoveFromSet) removal.write()).values();
            assertThat(carried).hasSizeLessThanOrEqualTo(ItemLimits.CONDITIONED_SET_CHANGE_MAX);
            values += carried.size();
            queue.stored(removal);
        }
        assertThat(values).isEqualTo(waiting);
        assertThat(requests).as("folded, in removals of the largest size").isEqualTo(3);
    }
}
