using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Ltb.Server.Data.Migrations.Sqlite
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
                type: "TEXT",
                maxLength: 100,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "AgentVersion",
                table: "LabHosts",
                type: "TEXT",
                maxLength: 50,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "DiskBytes",
                table: "LabHosts",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<string>(
                name: "Images",
                table: "LabHosts",
                type: "TEXT",
                nullable: false,
                defaultValue: "[]");

            migrationBuilder.AddColumn<string>(
                name: "Kinds",
                table: "LabHosts",
                type: "TEXT",
                nullable: false,
                defaultValue: "[]");

            migrationBuilder.AddColumn<bool>(
                name: "Kvm",
                table: "LabHosts",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<long>(
                name: "LastSeenAt",
                table: "LabHosts",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "HostTokens",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    Prefix = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Hash = table.Column<byte[]>(type: "BLOB", nullable: false),
                    HostId = table.Column<Guid>(type: "TEXT", nullable: true),
                    CreatedById = table.Column<Guid>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    LastUsedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    RevokedAt = table.Column<long>(type: "INTEGER", nullable: true)
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
