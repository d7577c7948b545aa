package io.mqttdynamo.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FetchedSubscriptionsTest {

    @Test
    void aSubscriptionReportedAgainInTheSameConnectionIsNotFetchedTwice() {
        FetchedSubscriptions fetched = new FetchedSubscriptions(60_000, 100);
        assertThat(fetched.first("c", "a/#", 0)).isTrue();
        assertThat(fetched.first("c", "a/#", 1_000)).isFalse();
        assertThat(fetched.first("c", "b", 1_000)).isTrue();
        assertThat(fetched.first("other", "a/#", 1_000)).isTrue();
    }

    @Test
    void aNewConnectionAnUnsubscribeOrTheWindowsEndMakeItNewAgain() {
        FetchedSubscriptions fetched = new FetchedSubscriptions(60_000, 100);
        fetched.first("c", "a", 0);
        fetched.first("c", "b", 0);
        fetched.first("d", "a", 0);
        fetched.connected("c");
        assertThat(fetched.first("c", "a", 1)).isTrue();
        assertThat(fetched.first("d", "a", 1)).isFalse();

        fetched.unsubscribed("c", "a");
        assertThat(fetched.first("c", "a", 2)).isTrue();

        assertThat(fetched.first("c", "a", 60_001)).isFalse();
        assertThat(fetched.first("c", "a", 60_002)).isTrue();
    }

    @Test
    void atMostCapacityAreRememberedTheOldestForgottenFirst() {
        FetchedSubscriptions fetched = new FetchedSubscriptions(60_000, 3);
        for (int i = 0; i < 5; i++) {
            fetched.first("c" + i, "t", i);
        }
        assertThat(fetched.size()).isEqualTo(3);
        assertThat(fetched.first("c0", "t", 10)).isTrue();
        assertThat(fetched.first("c4", "t", 10)).isFalse();
    }
}
