package io.mqttdynamo.it;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.mqttdynamo.store.local.DynaliteServer;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.OwnMosquitto;

/**
 * What a packaged-service test runs against: a Mosquitto and a dynalite of its own on free ports, and the
 * services it starts there; {@link #close()} stops them all.
 */
final class TestBed implements AutoCloseable {

    final int brokerPort = LocalDynamoDbResource.freePort();
    private Process mosquitto;
    private final DynaliteServer dynamo;
    private final List<PackagedService> services = new ArrayList<>();

    private TestBed() throws IOException, InterruptedException {
        mosquitto = OwnMosquitto.start(brokerPort);
        dynamo = DynaliteServer.start(
                Path.of("local-dynamodb"), "127.0.0.1", LocalDynamoDbResource.freePort(), Optional.empty());
    }

    static TestBed start() throws IOException, InterruptedException {
        return new TestBed();
    }

    DynaliteServer dynamo() {
        return dynamo;
    }

    /** The environment of a service on this bed (see {@link CrashRecoveryIT#environment}). */
    Map<String, String> environment(String clientId, String topic) {
        String endpoint = dynamo.endpoint();
        return CrashRecoveryIT.environment(
                clientId, brokerPort, topic, Integer.parseInt(endpoint.substring(endpoint.lastIndexOf(':') + 1)));
    }

    /** Starts the packaged service; it is stopped with the bed. */
    PackagedService service(Map<String, String> env, String name) throws IOException {
        PackagedService service = PackagedService.start(env, name);
        services.add(service);
        return service;
    }

    /** The broker dies (SIGKILL): without persistence it forgets every session. */
    void killBroker() throws InterruptedException {
        mosquitto.destroyForcibly().waitFor();
    }

    /** A new broker on the same port. */
    void startBroker() throws IOException {
        mosquitto = OwnMosquitto.start(brokerPort);
    }

    @Override
    public void close() {
        services.forEach(PackagedService::close);
        mosquitto.destroyForcibly();
        dynamo.close();
    }
}
