package io.mqttdynamo.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import io.mqttdynamo.store.Tables;

import software.amazon.awssdk.services.dynamodb.model.CreateTableRequest;

/**
 * Keeps {@code cloudformation/mqtt-dynamo.yaml} honest against the application: each of the six tables
 * has the key schema the service creates ({@link Tables}), on-demand billing and point-in-time recovery,
 * mqtt_msg's TTL is on the attribute {@code store.message-ttl} writes, and the IAM policy grants exactly
 * the DynamoDB calls the code makes (CreateTable only in the optional policy).
 */
class CloudFormationTemplateTest {

    private static final Path TEMPLATE = Path.of("cloudformation", "mqtt-dynamo.yaml");
    private static JsonNode resources;

    @BeforeAll
    static void read() throws IOException {
        String text = Files.readString(TEMPLATE);
        assertThat(text)
                .as("long-form intrinsic functions only (Ref:, Fn::Sub:), readable by any YAML reader")
                .doesNotContainPattern("(?m)(^|[\\s\\[,])!(Ref|Sub|GetAtt|If|Equals|Not|Join|Select)\\b");
        JsonNode template = new ObjectMapper(new YAMLFactory()).readTree(text);
        assertThat(template.path("AWSTemplateFormatVersion").asText()).isEqualTo("2010-09-09");
        resources = template.path("Resources");
    }

    @Test
    void everyTableHasTheApplicationsKeySchema() {
        Map<String, JsonNode> tables = new HashMap<>();
        resources.forEach(r -> {
            if (r.path("Type").asText().equals("AWS::DynamoDB::Table")) {
                tables.put(r.path("Properties").path("TableName").asText(), r);
            }
        });
        assertThat(tables.keySet())
                .containsExactlyInAnyOrderElementsOf(
                        Stream.of(Tables.values()).map(Tables::tableName).toList());
        for (Tables table : Tables.values()) {
            JsonNode resource = tables.get(table.tableName());
            JsonNode properties = resource.path("Properties");
            CreateTableRequest created = table.createRequest();
            List<String> keys = new ArrayList<>();
            properties
                    .path("KeySchema")
                    .forEach(k -> keys.add(k.path("AttributeName").asText() + " "
                            + k.path("KeyType").asText()));
            assertThat(keys)
                    .as(table.tableName() + " key schema")
                    .containsExactlyElementsOf(created.keySchema().stream()
                            .map(k -> k.attributeName() + " " + k.keyTypeAsString())
                            .toList());
            Map<String, String> definitions = new HashMap<>();
            properties
                    .path("AttributeDefinitions")
                    .forEach(d -> definitions.put(
                            d.path("AttributeName").asText(),
                            d.path("AttributeType").asText()));
            created.attributeDefinitions()
                    .forEach(d -> assertThat(definitions)
                            .as(table.tableName() + " attribute definitions")
                            .containsEntry(d.attributeName(), d.attributeTypeAsString()));
            assertThat(properties.path("BillingMode").asText())
                    .as(table.tableName())
                    .isEqualTo(created.billingModeAsString())
                    .isEqualTo("PAY_PER_REQUEST");
            assertThat(properties
                            .path("PointInTimeRecoverySpecification")
                            .path("PointInTimeRecoveryEnabled")
                            .asBoolean())
                    .as(table.tableName() + " point-in-time recovery")
                    .isTrue();
            assertThat(resource.path("DeletionPolicy").asText())
                    .as(table.tableName())
                    .isEqualTo("Retain");
            JsonNode ttl = properties.path("TimeToLiveSpecification");
            if (table == Tables.MSG) {
                assertThat(ttl.path("AttributeName").asText()).isEqualTo(Tables.Attr.EXPIRES_AT);
                assertThat(ttl.path("Enabled").asBoolean()).isTrue();
            } else {
                assertThat(ttl.isMissingNode())
                        .as(table.tableName() + ": only mqtt_msg items expire")
                        .isTrue();
            }
        }
    }

    @Test
    void thePolicyGrantsExactlyTheCallsTheServiceMakes() throws IOException {
        Set<String> calls = new TreeSet<>();
        Pattern call = Pattern.compile("\\bdynamo\\.([a-z][A-Za-z]+)\\(");
        try (Stream<Path> sources = Files.walk(Path.of("src/main/java"))) {
            for (Path source :
                    sources.filter(p -> p.toString().endsWith(".java")).toList()) {
                Matcher m = call.matcher(Files.readString(source));
                while (m.find()) {
                    // a paginator makes the calls of its operation (queryPaginator: Query)
                    String operation = m.group(1).replaceFirst("Paginator$", "");
                    calls.add(
                            "dynamodb:" + operation.substring(0, 1).toUpperCase(Locale.ROOT) + operation.substring(1));
                }
            }
        }
        assertThat(calls)
                .as("DynamoDB calls found in the code")
                .contains("dynamodb:BatchWriteItem", "dynamodb:CreateTable", "dynamodb:DescribeTable");

        Set<String> access = actions("AccessPolicy");
        Set<String> creation = actions("CreateTablesPolicy");
        assertThat(creation).containsExactlyInAnyOrder("dynamodb:CreateTable", "dynamodb:UpdateTable");
        Set<String> all = new TreeSet<>(access);
        all.addAll(creation);
        assertThat(all).as("least privilege: every call granted, nothing else").isEqualTo(calls);
        assertThat(access).doesNotContain("dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:*");
        assertThat(resources.path("CreateTablesPolicy").path("Condition").asText())
                .isEqualTo("CreateTables");

        // Table actions name the six tables (and their indexes), never every table of the account.
        JsonNode tableStatement = resources
                .path("AccessPolicy")
                .path("Properties")
                .path("PolicyDocument")
                .path("Statement")
                .get(0);
        List<String> arns = new ArrayList<>();
        tableStatement.path("Resource").forEach(r -> arns.add(r.path("Fn::Sub").asText()));
        for (Tables table : Tables.values()) {
            assertThat(arns).anyMatch(arn -> arn.endsWith(":table/" + table.tableName()));
        }
        assertThat(arns).allMatch(arn -> arn.matches(".*:table/mqtt_[a-z_]+(/index/\\*)?"));
    }

    @Test
    void theRoleIsForTheServiceAccountOfTheManifests() throws IOException {
        JsonNode role = resources.path("ServiceRole");
        String trust = role.path("Properties")
                .path("AssumeRolePolicyDocument")
                .path("Fn::Sub")
                .asText();
        assertThat(trust)
                .contains("sts:AssumeRoleWithWebIdentity")
                .contains("system:serviceaccount:${Namespace}:${ServiceAccount}");
        JsonNode serviceAccount = new ObjectMapper(new YAMLFactory())
                .readTree(Path.of("k8s", "base", "serviceaccount.yaml").toFile());
        JsonNode parameters =
                new ObjectMapper(new YAMLFactory()).readTree(TEMPLATE.toFile()).path("Parameters");
        assertThat(parameters.path("ServiceAccount").path("Default").asText())
                .isEqualTo(serviceAccount.path("metadata").path("name").asText());
    }

    private static Set<String> actions(String policy) {
        Set<String> actions = new TreeSet<>();
        resources
                .path(policy)
                .path("Properties")
                .path("PolicyDocument")
                .path("Statement")
                .forEach(s -> s.path("Action").forEach(a -> actions.add(a.asText())));
        return actions;
    }
}
