package io.mqttdynamo.ingest;

import java.util.ArrayList;
import java.util.List;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;

import org.eclipse.microprofile.config.Config;

import io.mqttdynamo.config.ConfigCheck;
import io.mqttdynamo.config.Lifecycle;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.hooks.HookRules;
import io.quarkus.logging.Log;
import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.StartupEvent;

/**
 * The configuration check at start-up, before anything starts or connects: every {@code mqtt-dynamo.*} setting
 * ({@link ConfigCheck}), the credentials read elsewhere, and the hook lines (checked as {@link HookRules} is
 * built). A wrong setting stops the service with every problem listed; a risky one is warned about once.
 */
@ApplicationScoped
public class StartupCheck {

    private final MqttDynamoConfig config;
    private final Config rawConfig;
    private final Instance<HookRules> rules;

    public StartupCheck(MqttDynamoConfig config, Config rawConfig, Instance<HookRules> rules) {
        this.config = config;
        this.rawConfig = rawConfig;
        this.rules = rules;
    }

    void onStart(@Observes @Priority(Lifecycle.CHECK_CONFIGURATION) StartupEvent event) {
        ConfigCheck.Findings findings = ConfigCheck.check(
                config,
                new ConfigCheck.Surroundings(
                        name -> rawConfig.getOptionalValue(name, String.class),
                        System.getenv(),
                        LaunchMode.current() == LaunchMode.NORMAL));
        List<String> problems = new ArrayList<>(findings.problems());
        try {
            rules.get();
        } catch (RuntimeException e) {
            problems.add(rootMessage(e));
        }
        if (!problems.isEmpty()) {
            throw ConfigCheck.refusal(problems);
        }
        findings.warnings().forEach(warning -> Log.warn("Configuration: " + warning));
    }

    /** The hook lines' own message, not the container's wrapping of it. */
    private static String rootMessage(Throwable e) {
        Throwable cause = e;
        while (!(cause instanceof IllegalArgumentException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return String.valueOf(cause.getMessage());
    }
}
