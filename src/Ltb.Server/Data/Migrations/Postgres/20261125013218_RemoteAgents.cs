using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Ltb.Server.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class RemoteAgents : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "AgentSecret",
                table: "LabHosts",
                type: "character varying(100)",
                maxLength: 100,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "AgentVersion",
                table: "LabHosts",
                type: "character varying(50)",
                maxLength: 50,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "DiskBytes",
                table: "LabHosts",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<string>(
                name: "Images",
                table: "LabHosts",
                type: "text",
                nullable: false,
                defaultValue: "[]");

            migrationBuilder.AddColumn<string>(
                name: "Kinds",
                table: "LabHosts",
                type: "text",
                nullable: false,
                defaultValue: "[]");

            migrationBuilder.AddColumn<bool>(
                name: "Kvm",
                table: "LabHosts",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "LastSeenAt",
                table: "LabHosts",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "HostTokens",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Name = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    Prefix = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    HostId = table.Column<Guid>(type: "uuid", nullable: true),
                    CreatedById = table.Column<Guid>(type: "uuid", nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    LastUsedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    RevokedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_HostTokens", x => x.Id);
                    table.ForeignKey(
                        name: "FK_HostTokens_LabHosts_HostId",
                        column: x => x.HostId,
                        principalTable: "LabHosts",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                });

            migrationBuilder.CreateIndex(
                name: "IX_HostTokens_Hash",
                table: "HostTokens",
                column: "Hash",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_HostTokens_HostId",
                table: "HostTokens",
                column: "HostId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "HostTokens");

            migrationBuilder.DropColumn(
                name: "AgentSecret",
                table: "LabHosts");

            migrationBuilder.DropColumn(
                name: "AgentVersion",
                table: "LabHosts");

            migrationBuilder.DropColumn(
                name: "DiskBytes",
                table: "LabHosts");

            migrationBuilder.DropColumn(
                name: "Images",
                table: "LabHosts");

            migrationBuilder.DropColumn(
                name: "Kinds",
                table: "LabHosts");

            migrationBuilder.DropColumn(
                name: "Kvm",
                table: "LabHosts");

            migrationBuilder.DropColumn(
                name: "LastSeenAt",
                table: "LabHosts");
        }
    }
}
