package io.mqttdynamo.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.InputStream;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.EmbeddedMqtt311Profile;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** The live stream is bounded: a cap on open streams (503 with Retry-After past it) and a longest life. */
@QuarkusTest
@TestProfile(EmbeddedMqtt311Profile.class)
class LiveStreamLimitsTest {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TestHTTPResource("/api/live")
    URL live;

    @Inject
    LiveResource resource;

    private final List<InputStream> open = new ArrayList<>();

    @AfterEach
    void closeStreams() throws Exception {
        for (InputStream stream : open) {
            stream.close();
        }
        await("streams released").atMost(Duration.ofSeconds(15)).until(() -> resource.openStreams() == 0);
    }

    @Test
    void pastTheCapAStreamIsRefusedUntilOneCloses() throws Exception {
        HttpResponse<InputStream> first = stream();
        HttpResponse<InputStream> second = stream();
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(second.statusCode()).isEqualTo(200);
        assertThat(first.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");

        HttpResponse<InputStream> third = stream();
        assertThat(third.statusCode()).isEqualTo(503);
        assertThat(third.headers().firstValue("Retry-After")).contains("30");
        assertThat(new String(third.body().readAllBytes()))
                .contains("\"status\":503")
                .contains("max-streams");

        // The client goes away: its stream is released (when the next tick fails to reach it).
        first.body().close();
        await("a slot is free again").atMost(Duration.ofSeconds(15)).until(() -> resource.openStreams() < 2);
        assertThat(stream().statusCode()).isEqualTo(200);
    }

    @Test
    void aStreamEndsAfterItsMaximumAge() throws Exception {
        long start = System.nanoTime();
        HttpResponse<InputStream> response = stream();
        assertThat(response.statusCode()).isEqualTo(200);
        CompletableFuture<byte[]> whole = CompletableFuture.supplyAsync(() -> {
            try {
                return response.body().readAllBytes();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        await("the server ends the stream").atMost(Duration.ofSeconds(20)).until(whole::isDone);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofSeconds(4));
        assertThat(new String(whole.get())).contains("data:").contains("messagesPerSecond");
        await().atMost(Duration.ofSeconds(5)).until(() -> resource.openStreams() == 0);
    }

    private HttpResponse<InputStream> stream() throws Exception {
        HttpResponse<InputStream> response = HTTP.send(
                HttpRequest.newBuilder(URI.create(live.toString()))
                        .header("Accept", "text/event-stream")
                        .header("Authorization", EmbeddedMqtt311Profile.basicAuthorization())
                        .build(),
                HttpResponse.BodyHandlers.ofInputStream());
        open.add(response.body());
        return response;
    }
}
