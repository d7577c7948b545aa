package io.mqttdynamo.hooks;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class RepublicationsTest {

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aCopyIsRecognisedByContentOnceAndOnlyOnItsTopic() {
        Republications republications = new Republications();
        republications.expect("jobs", bytes("job 1"), "orig-1", 0);
        assertThat(republications.takeCopy("other", bytes("job 1"), null, true, 1))
                .isNull();
        assertThat(republications.takeCopy("jobs", bytes("job 2"), null, true, 1))
                .isNull();
        assertThat(republications.takeCopy("jobs", bytes("job 1"), null, true, 1))
                .isEqualTo("orig-1");
        assertThat(republications.takeCopy("jobs", bytes("job 1"), null, true, 1))
                .as("taken once")
                .isNull();
    }

    @Test
    void withoutContentMatchingOnlyTheMarkCounts() {
        Republications republications = new Republications();
        republications.expect("jobs", bytes("job 1"), "orig-1", 0);
        assertThat(republications.takeCopy("jobs", bytes("job 1"), null, false, 1))
                .isNull();
        assertThat(republications.takeCopy("jobs", bytes("job 1"), "orig-1", false, 1))
                .isEqualTo("orig-1");
        assertThat(republications.expected())
                .as("the marked copy's expectation is gone")
                .isZero();
        assertThat(republications.takeCopy("retained/x", bytes("v"), "retained", false, 1))
                .as("marked without expectation: still the service's own")
                .isEqualTo("retained");
    }

    @Test
    void identicalCopiesAreTakenInTheOrderPublished() {
        Republications republications = new Republications();
        republications.expect("jobs", bytes("same"), "orig-1", 0);
        republications.expect("jobs", bytes("same"), "orig-2", 0);
        assertThat(republications.takeCopy("jobs", bytes("same"), null, true, 1))
                .isEqualTo("orig-1");
        assertThat(republications.takeCopy("jobs", bytes("same"), null, true, 1))
                .isEqualTo("orig-2");
    }

    @Test
    void anExpectationEndsAfterItsTimeSoThatALateCopyIsStoredRatherThanAMessageDropped() {
        Republications republications = new Republications();
        republications.expect("jobs", bytes("job 1"), "orig-1", 1_000);
        assertThat(republications.takeCopy(
                        "jobs", bytes("job 1"), null, true, 1_000 + Republications.EXPECT_FOR_MILLIS + 1))
                .isNull();
        assertThat(republications.expected()).isZero();
    }

    @Test
    void expectationsAreBoundedTheOldestGoingFirst() {
        Republications republications = new Republications();
        for (int i = 0; i <= Republications.MAX_EXPECTED; i++) {
            republications.expect("t/" + i, bytes("p"), "orig-" + i, 0);
        }
        assertThat(republications.expected()).isEqualTo(Republications.MAX_EXPECTED);
        assertThat(republications.takeCopy("t/0", bytes("p"), null, true, 1)).isNull();
        assertThat(republications.takeCopy("t/1", bytes("p"), null, true, 1)).isEqualTo("orig-1");
    }

    @Test
    void theBrokersIdOfACopyLeadsToTheOriginal() {
        Republications republications = new Republications();
        republications.expect("jobs", bytes("job 1"), "orig-1", 0);
        assertThat(republications.originalOf("broker-id")).isNull();
        republications.copyPublished("broker-id", "jobs", bytes("job 1"), 1);
        assertThat(republications.originalOf("broker-id")).isEqualTo("orig-1");
        republications.copyPublished("unexpected", "jobs", bytes("job 1"), 1);
        assertThat(republications.originalOf("unexpected")).isNull();
    }

    @Test
    void anAckOfACopyWaitsForTheCopysEnvelopeOnlyWhileACopyIsExpectedOnItsTopic() {
        Republications republications = new Republications();
        assertThat(republications.copyReported("copy-1", "jobs", 0))
                .as("nothing expected on the topic")
                .isNull();
        republications.expect("jobs", bytes("job 1"), "orig-1", 0);
        var held = republications.copyReported("copy-1", "jobs", 1).subscribeAsCompletionStage();
        assertThat(held).isNotDone();

        republications.copyPublished("copy-1", "jobs", bytes("job 1"), 2);
        assertThat(held).isCompleted();
        assertThat(republications.originalOf("copy-1")).isEqualTo("orig-1");
        assertThat(republications.copyReported("copy-1", "jobs", 3))
                .as("mapped already")
                .isNull();
    }

    @Test
    void aHeldAckGoesOnAfterTheHoldWhenItsCopyNeverComes() {
        Republications republications = new Republications();
        republications.expect("jobs", bytes("job 1"), "orig-1", 0);
        var held = republications.copyReported("elsewhere", "jobs", 1).subscribeAsCompletionStage();
        org.awaitility.Awaitility.await()
                .atMost(Republications.HOLD.plusSeconds(5))
                .until(held::isDone);
        assertThat(held).isCompletedWithValue(null);
        assertThat(republications.originalOf("elsewhere")).isNull();
    }
}
