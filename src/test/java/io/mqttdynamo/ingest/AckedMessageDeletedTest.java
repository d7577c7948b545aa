package io.mqttdynamo.ingest;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.DeletingAcksProfile;
import io.mqttdynamo.support.Readiness;
import io.mqttdynamo.support.TableReader;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/** With {@code acks.delete-message} the first acknowledgement deletes the message's item (queue semantics). */
@QuarkusTest
@TestProfile(DeletingAcksProfile.class)
class AckedMessageDeletedTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    @Inject
    DynamoDbAsyncClient dynamo;

    TableReader tables;
    String run;

    @BeforeEach
    void setUp() {
        Readiness.await();
        tables = new TableReader(dynamo);
        run = UUID.randomUUID().toString().substring(0, 8);
    }

    @Test
    void theFirstAckDeletesTheMessageItem() {
        String msgId = AckedMessageKeptTest.AckFlow.publishAndAck(tables, "queue-deleted/" + run, run, TIMEOUT);
        await().atMost(TIMEOUT).until(() -> tables.item("mqtt_msg", "msgid", msgId).isEmpty());
    }
}
