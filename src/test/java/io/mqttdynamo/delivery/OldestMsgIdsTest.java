package io.mqttdynamo.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.domain.EmqxMsgId;

/** The selection of a queue fetch: the max-count oldest of any number of pending ids, in bounded memory. */
class OldestMsgIdsTest {

    private static List<String> ids(int count, Random random) {
        List<String> ids = new ArrayList<>();
        long micros = 1_700_000_000_000_000L;
        for (int i = 0; i < count; i++) {
            // Close timestamps with shuffled node and sequence parts, as replicas and brokers make them.
            ids.add(EmqxMsgId.encode(ByteBuffer.allocate(16)
                    .putLong(micros + random.nextInt(5_000))
                    .putLong(random.nextLong())
                    .array()));
        }
        ids.add("not-an-emqx-id");
        ids.add("9Z");
        return ids;
    }

    @Test
    void keepsTheOldestInOrderWhateverTheOrderOffered() {
        Random random = new Random(11);
        List<String> ids = ids(20_000, random);
        Collections.shuffle(ids, random);
        OldestMsgIds<String> oldest = new OldestMsgIds<>(500);
        for (String id : ids) {
            oldest.offer(id, id);
            assertThat(oldest.size()).isLessThanOrEqualTo(500);
        }
        List<String> sorted = new ArrayList<>(ids);
        sorted.sort(EmqxMsgId.OLDEST_FIRST);
        assertThat(oldest.oldestFirst()).containsExactlyElementsOf(sorted.subList(0, 500));
    }

    @Test
    void fewerThanTheLimitAreAllKeptWithOtherFormsLast() {
        Random random = new Random(12);
        List<String> ids = ids(50, random);
        Collections.shuffle(ids, random);
        OldestMsgIds<String> oldest = new OldestMsgIds<>(500);
        ids.forEach(id -> oldest.offer(id, id));
        List<String> sorted = new ArrayList<>(ids);
        sorted.sort(EmqxMsgId.OLDEST_FIRST);
        assertThat(oldest.oldestFirst()).containsExactlyElementsOf(sorted).endsWith("9Z", "not-an-emqx-id");
    }

    @Test
    void aLimitOfOneKeepsTheOldestAndTheValueGoesWithItsId() {
        OldestMsgIds<Integer> oldest = new OldestMsgIds<>(1);
        EmqxMsgId generator = new EmqxMsgId();
        String first = generator.next();
        String second = generator.next();
        oldest.offer(second, 2);
        oldest.offer(first, 1);
        oldest.offer("other", 3);
        assertThat(oldest.oldestFirst()).containsExactly(1);
        assertThatThrownBy(() -> new OldestMsgIds<String>(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
