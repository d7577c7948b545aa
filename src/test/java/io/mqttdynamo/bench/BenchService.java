package io.mqttdynamo.bench;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.awaitility.core.ConditionTimeoutException;

import io.mqttdynamo.support.LocalDynamoDbResource;

/** The packaged service ({@code java -jar target/quarkus-app/quarkus-run.jar}), its output in a log file. */
final class BenchService implements AutoCloseable {
    final Process process;
    final int httpPort;
    final Path log;

    private BenchService(Process process, int httpPort, Path log) {
        this.process = process;
        this.httpPort = httpPort;
        this.log = log;
    }

    static BenchService start(Path dir, String name, Map<String, String> env) throws IOException {
        Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar");
        if (!Files.exists(jar)) {
            throw new IOException(jar + " is missing: package first (./mvnw -Pbench verify does)");
        }
        int httpPort = LocalDynamoDbResource.freePort();
        Path log = dir.resolve("service-" + name + ".log");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // e.g. -Dbench.serviceJvmArgs=-XX:StartFlightRecording=filename=target/bench/service.jfr,settings=profile
        for (String arg : System.getProperty("bench.serviceJvmArgs", "").trim().split("\\s+")) {
            if (!arg.isEmpty()) {
                command.add(arg.replace("{name}", name));
            }
        }
        command.add("-jar");
        command.add(jar.toString());
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(env);
        builder.environment().put("QUARKUS_HTTP_PORT", Integer.toString(httpPort));
        Process process = builder.start();
        Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly, "service-stop"));
        return new BenchService(process, httpPort, log);
    }

    void awaitReady(Duration timeout) throws Exception {
        try {
            await().atMost(timeout).pollInterval(Duration.ofMillis(250)).until(() -> {
                if (!process.isAlive()) {
                    throw new IOException("the service exited with code " + process.exitValue() + "; see " + log);
                }
                try {
                    return BenchSupport.HTTP
                                    .send(
                                            HttpRequest.newBuilder(URI.create(
                                                            "http://127.0.0.1:" + httpPort + "/q/health/ready"))
                                                    .timeout(Duration.ofSeconds(5))
                                                    .build(),
                                            HttpResponse.BodyHandlers.ofString())
                                    .statusCode()
                            == 200;
                } catch (IOException e) {
                    return false; // not listening yet
                }
            });
        } catch (ConditionTimeoutException e) {
            throw new IOException("the service was not ready within " + timeout.toSeconds() + " s; see " + log);
        }
    }

    Optional<String> get(String path) {
        try {
            return Optional.of(BenchSupport.HTTP
                    .send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                                    .timeout(Duration.ofSeconds(10))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body());
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    String log() throws IOException {
        return Files.readString(log);
    }

    void stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() throws Exception {
        if (process.isAlive()) {
            stop();
        }
    }
}
