package io.mqttdynamo.ingest;

import static org.awaitility.Awaitility.await;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.EmbeddedBrokerTest;
import io.mqttdynamo.support.EmbeddedVariantProfile;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** With {@code acks.delete-message} the first acknowledgement deletes the message's item (queue semantics). */
@QuarkusTest
@TestProfile(EmbeddedVariantProfile.class)
class AckedMessageDeletedTest extends EmbeddedBrokerTest {

    @Test
    void theFirstAckDeletesTheMessageItem() {
        String msgId = AckedMessageKeptTest.AckFlow.publishAndAck(tables, "queue-deleted/" + run, run, TIMEOUT);
        await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_msg", "msgid", msgId).isEmpty());
    }
}
