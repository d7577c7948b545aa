package io.mqttdynamo.it;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.PrometheusText;

/**
 * The packaged service run as users run it: {@code java -jar target/quarkus-app/quarkus-run.jar} with
 * environment variables, its output in {@code target/<name>.log}.
 */
final class PackagedService implements AutoCloseable {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private final Process process;
    private final int httpPort;
    private final Path log;

    private PackagedService(Process process, int httpPort, Path log) {
        this.process = process;
        this.httpPort = httpPort;
        this.log = log;
    }

    static PackagedService start(Map<String, String> env, String name) throws IOException {
        int httpPort = LocalDynamoDbResource.freePort();
        Path log = Path.of("target", name + ".log");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // JIT and GC flags only (the pom's it.service.jvm.flags): they change how fast it starts, not what it does.
        String flags = System.getProperty("it.service.jvm.flags", "").strip();
        if (!flags.isEmpty()) {
            command.addAll(List.of(flags.split("\\s+")));
        }
        command.addAll(List.of(
                "-jar", Path.of("target", "quarkus-app", "quarkus-run.jar").toString()));
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(env);
        builder.environment().put("QUARKUS_HTTP_PORT", Integer.toString(httpPort));
        return new PackagedService(builder.start(), httpPort, log);
    }

    /** The body of a GET, empty while the service does not answer. */
    Optional<String> get(String path) {
        try {
            HttpResponse<String> response = HTTP.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                            .timeout(Duration.ofSeconds(5))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return Optional.of(response.body());
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** The status of a GET with HTTP basic credentials {@code user:password}, -1 while the service does not answer. */
    int status(String path, String credentials) {
        try {
            return HTTP.send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                                    .header(
                                            "Authorization",
                                            "Basic "
                                                    + java.util.Base64.getEncoder()
                                                            .encodeToString(credentials.getBytes(
                                                                    java.nio.charset.StandardCharsets.UTF_8)))
                                    .timeout(Duration.ofSeconds(5))
                                    .build(),
                            HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** A series of /q/metrics, 0 while absent or unreachable. */
    double metric(String series) {
        return get("/q/metrics").map(page -> PrometheusText.value(page, series)).orElse(0.0);
    }

    /** True once the channel's session is connected and subscribed (readiness data). */
    boolean channelConnected(String channel, String clientIdBase) {
        return get("/q/health/ready")
                .filter(body -> body.contains("\"" + channel + "\": \"connected as " + clientIdBase + "-" + channel))
                .isPresent();
    }

    /** The exit code once the process ended within {@code timeout}, empty while it runs. */
    Optional<Integer> exitCode(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
                ? Optional.of(process.exitValue())
                : Optional.empty();
    }

    String log() throws IOException {
        return Files.readString(log);
    }

    /** SIGKILL: no shutdown, no drain, no acknowledgement. */
    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    /** SIGTERM without waiting: the process drains and ends while the caller goes on. */
    void terminate() {
        process.destroy();
    }

    /** SIGTERM; true when the process ended within 30 s. */
    boolean stop() throws InterruptedException {
        process.destroy();
        return process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
