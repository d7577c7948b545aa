package io.mqttdynamo.config;

import java.util.Map;

import io.smallrye.config.ConfigSourceInterceptor;
import io.smallrye.config.ConfigSourceInterceptorContext;
import io.smallrye.config.ConfigValue;

/**
 * Reads the EMQX backend's connection settings ({@code backend.dynamo.region},
 * {@code backend.dynamo.pool1.server}, {@code pool_size}, {@code aws_access_key_id},
 * {@code aws_secret_access_key}) as the DynamoDB client's, so a migrated configuration keeps working.
 * A {@code quarkus.dynamodb.*} setting wins over its EMQX counterpart.
 */
public class SeedConfigInterceptor implements ConfigSourceInterceptor {

    private static final String KEY_ID = "backend.dynamo.pool1.aws_access_key_id";

    private static final Map<String, String> FALLBACKS = Map.of(
            "quarkus.dynamodb.aws.region",
            "backend.dynamo.region",
            "quarkus.dynamodb.endpoint-override",
            "backend.dynamo.pool1.server",
            "quarkus.dynamodb.async-client.max-concurrency",
            "backend.dynamo.pool1.pool_size",
            "quarkus.dynamodb.aws.credentials.static-provider.access-key-id",
            KEY_ID,
            "quarkus.dynamodb.aws.credentials.static-provider.secret-access-key",
            "backend.dynamo.pool1.aws_secret_access_key");

    /** Values that only come from a default are not settings: the EMQX one wins over them. */
    private static boolean isDefault(ConfigValue value) {
        return value.getConfigSourceOrdinal() <= 0;
    }

    @Override
    public ConfigValue getValue(ConfigSourceInterceptorContext context, String name) {
        ConfigValue value = context.proceed(name);
        if (value != null && !isDefault(value)) {
            return value;
        }
        String seedName = FALLBACKS.get(name);
        if (seedName != null) {
            ConfigValue seed = context.proceed(seedName);
            return seed == null ? value : seed.withName(name);
        }
        if (name.equals("quarkus.dynamodb.aws.credentials.type")) {
            ConfigValue keyId = context.proceed(KEY_ID);
            return keyId == null ? value : keyId.withName(name).withValue("static");
        }
        return value;
    }
}
