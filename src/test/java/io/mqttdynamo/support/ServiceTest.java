package io.mqttdynamo.support;

import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/**
 * What the tests of the running service share, whichever broker their profile names: the service ready, the
 * tables as it wrote them, and a run id that keeps each test's topics and clients apart.
 */
public abstract class ServiceTest {

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
