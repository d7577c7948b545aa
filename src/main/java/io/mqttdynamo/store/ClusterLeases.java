package io.mqttdynamo.store;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/** Makes the leases of the jobs one replica at a time runs ({@link ClusterLease}). */
@ApplicationScoped
public class ClusterLeases {

    private final DynamoDbAsyncClient dynamo;

    public ClusterLeases(DynamoDbAsyncClient dynamo) {
        this.dynamo = dynamo;
    }

    /** The lease of {@code job} as {@code owner} holds it (see {@link ClusterLease#ClusterLease}). */
    public ClusterLease lease(String job, String owner, Duration term) {
        return new ClusterLease(dynamo, job, owner, term);
    }
}
