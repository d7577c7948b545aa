package io.mqttdynamo.support;

import java.time.Duration;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/**
 * What the tests of the service on the embedded broker ({@link EmbeddedBrokerProfile}) share: the broker's
 * port, the tables as the service wrote them, and a run id that keeps each test's topics and clients apart.
 */
public abstract class EmbeddedBrokerTest {

    protected static final Duration TIMEOUT = Duration.ofSeconds(20);
    protected static final int PORT = EmbeddedBrokerProfile.brokerPort();

    @Inject
    protected DynamoDbAsyncClient dynamo;

    protected TableReader tables;
    protected String run;

    @BeforeEach
    void awaitTheService() {
        Readiness.await();
        tables = new TableReader(dynamo);
        run = UUID.randomUUID().toString().substring(0, 8);
    }
}
