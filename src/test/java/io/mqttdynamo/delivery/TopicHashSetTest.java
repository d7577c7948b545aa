package io.mqttdynamo.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TopicHashSetTest {

    @Test
    void holdsWhatWasAddedAndNothingElseAcrossGrowth() {
        TopicHashSet set = new TopicHashSet(100_000);
        for (int i = 0; i < 40_000; i++) {
            assertThat(set.add("sensors/" + i + "/temp")).isTrue();
        }
        assertThat(set.add("sensors/7/temp")).as("added twice").isFalse();
        assertThat(set.size()).isEqualTo(40_000);
        for (int i = 0; i < 40_000; i++) {
            assertThat(set.contains("sensors/" + i + "/temp")).isTrue();
            assertThat(set.contains("sensors/" + i + "/humidity")).isFalse();
        }
        assertThat(set.contains("")).isFalse();
        // At most 3/4 full: 40,000 hashes in 2^16 slots.
        assertThat(set.bytes()).isEqualTo(65_536L * Long.BYTES);
    }

    @Test
    void aMillionTopicsTakeSixteenMebibytes() {
        TopicHashSet set = new TopicHashSet(1_000_000);
        for (int i = 0; i < 1_000_000; i++) {
            set.add("site/" + (i % 1000) + "/device/" + i);
        }
        assertThat(set.size()).isEqualTo(1_000_000);
        assertThat(set.bytes()).isEqualTo(16L * 1024 * 1024);
        assertThat(set.contains("site/999/device/999999")).isTrue();
        assertThat(set.contains("site/999/device/1000000")).isFalse();
    }

    @Test
    void theEmptyMarkerIsNeverAHashAndHashesThatShareASlotAreKeptApart() {
        TopicHashSet set = new TopicHashSet(10);
        assertThat(set.addHash(1L)).isTrue();
        // Same home slot (the low bits agree after folding), different hashes: probing keeps both.
        long sameSlot = 1L + (1L << 40) + (1L << 8);
        assertThat(set.addHash(sameSlot)).isTrue();
        assertThat(set.addHash(1L)).isFalse();
        assertThat(set.size()).isEqualTo(2);
        assertThat(set.hash("any topic")).isNotZero();
    }

    @Test
    void refusesPastItsBound() {
        TopicHashSet set = new TopicHashSet(3);
        set.add("a");
        set.add("b");
        set.add("c");
        assertThat(set.add("a")).isFalse();
        assertThatThrownBy(() -> set.add("d"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("more than 3");
    }
}
